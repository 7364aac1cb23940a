<?php
/*
 * Drives the 2020 SuperTokens PHP SDK (supertokens/supertokens-laravel v0.1.1, CDI 1.0) against a
 * running `tessera serve`: handshake, create, verify, session data, refresh, refresh with the
 * child token, token theft on replaying the first refresh token after the grace period, revoke.
 *
 * Usage: php scenario.php SDK_CHECKOUT TESSERA_URL
 *   SDK_CHECKOUT  a checkout of supertokens-laravel at tag v0.1.1 (its src/ is autoloaded)
 *   TESSERA_URL   e.g. http://127.0.0.1:3567 (the server's grace period must be 1 second)
 *
 * Needs Debian's php8.2-cli, php-laravel-framework, php-guzzlehttp-guzzle, php8.2-curl,
 * php8.2-mbstring, php8.2-xml. Prints `ok <step>` / `FAIL <step>: <detail>` per step and
 * `php-sdk: N passed, M failed` at the end; exits non-zero on any failure.
 */

declare(strict_types=1);

if ($argc !== 3) {
    fwrite(STDERR, "usage: php scenario.php SDK_CHECKOUT TESSERA_URL\n");
    exit(2);
}
$checkout = rtrim($argv[1], '/');
$tesseraUrl = rtrim($argv[2], '/');
if (!is_file("$checkout/src/SuperTokens.php") || !is_file("$checkout/src/SessionHandlingFunctions.php")) {
    fwrite(STDERR, "not a supertokens-laravel checkout: $checkout\n");
    exit(2);
}
$parsed = parse_url($tesseraUrl);
if (!isset($parsed['scheme'], $parsed['host'], $parsed['port'])) {
    fwrite(STDERR, "TESSERA_URL must look like http://host:port, got $tesseraUrl\n");
    exit(2);
}

// Like a Laravel 8 app: every warning/notice is an error, deprecations (the 2020 SDK on PHP 8.2)
// are not.
error_reporting(E_ALL & ~E_DEPRECATED & ~E_USER_DEPRECATED);
set_error_handler(function (int $level, string $message, string $file = '', int $line = 0) {
    if (!(error_reporting() & $level)) {
        return false;
    }
    throw new ErrorException($message, 0, $level, $file, $line);
});

// Debian's Laravel 8 and Guzzle autoloaders, then PSR-4 for the SDK (composer.json: SuperTokens\ => src).
require_once 'Illuminate/autoload.php';
require_once 'GuzzleHttp/autoload.php';
spl_autoload_register(function (string $class) use ($checkout) {
    $prefix = 'SuperTokens\\';
    if (strncmp($class, $prefix, strlen($prefix)) !== 0) {
        return;
    }
    $file = $checkout . '/src/' . str_replace('\\', '/', substr($class, strlen($prefix))) . '.php';
    if (is_file($file)) {
        require $file;
    }
});

use Illuminate\Config\Repository;
use Illuminate\Cookie\CookieServiceProvider;
use Illuminate\Foundation\Application;
use Illuminate\Http\Request;
use Illuminate\Http\Response;
use Illuminate\Support\Facades\Facade;
use SuperTokens\Exceptions\SuperTokensGeneralException;
use SuperTokens\Exceptions\SuperTokensTokenTheftException;
use SuperTokens\Exceptions\SuperTokensTryRefreshTokenException;
use SuperTokens\Exceptions\SuperTokensUnauthorisedException;
use SuperTokens\Helpers\HandshakeInfo;
use SuperTokens\Providers\SuperTokensServiceProvider;
use SuperTokens\Session;
use SuperTokens\SessionHandlingFunctions;
use SuperTokens\SuperTokens;

// A minimal Laravel application: container, config, facades, cookie jar, HTTP client factory
// (resolved by the container for the Http facade), and the SDK's service provider.
$basePath = sys_get_temp_dir() . '/tessera-php-sdk-' . getmypid();
$app = new Application($basePath);
$app->instance('env', 'production');
$app->instance('config', new Repository([
    'app' => ['env' => 'production', 'debug' => false],
    'session' => ['path' => '/', 'domain' => null, 'secure' => false, 'same_site' => null],
    'supertokens' => [
        // v0.1.1 builds URLs as hostname . ":" . port . path, so the hostname carries the scheme.
        'hosts' => [[
            'hostname' => $parsed['scheme'] . '://' . $parsed['host'],
            'port' => $parsed['port'],
        ]],
    ],
]));
Facade::clearResolvedInstances();
Facade::setFacadeApplication($app);
$app->register(CookieServiceProvider::class);
$app->register(SuperTokensServiceProvider::class);
$app->boot();

// ---------------------------------------------------------------- harness
$passed = 0;
$failed = 0;

class StepFailure extends Exception
{
}

function check(bool $cond, string $what): void
{
    if (!$cond) {
        throw new StepFailure($what);
    }
}

function show($v): string
{
    return json_encode($v, JSON_UNESCAPED_SLASHES | JSON_PARTIAL_OUTPUT_ON_ERROR) ?: var_export($v, true);
}

function describe(Throwable $e): string
{
    if ($e instanceof StepFailure) {
        return $e->getMessage();
    }
    $s = get_class($e) . ': ' . $e->getMessage();
    if (!($e instanceof SuperTokensGeneralException)) {
        $s .= ' at ' . basename($e->getFile()) . ':' . $e->getLine();
    }
    for ($p = $e->getPrevious(); $p !== null; $p = $p->getPrevious()) {
        $s .= ' <- ' . get_class($p) . ': ' . $p->getMessage();
    }
    return str_replace("\n", ' ', $s);
}

function step(string $name, callable $fn): bool
{
    global $passed, $failed;
    try {
        $fn();
        $passed++;
        echo "ok $name\n";
        return true;
    } catch (Throwable $e) {
        $failed++;
        echo "FAIL $name: " . describe($e) . "\n";
        return false;
    }
}

/** Runs $fn and returns the exception it throws; fails when it throws nothing. */
function expectThrow(callable $fn, string $class, string $what): Throwable
{
    try {
        $result = $fn();
    } catch (Throwable $e) {
        if ($e instanceof $class) {
            return $e;
        }
        throw new StepFailure("$what: expected $class, got " . describe($e));
    }
    throw new StepFailure("$what: expected $class, but it returned " . show($result instanceof Session ? 'a Session' : $result));
}

/** The cookies a response sets, by name (the last one set under a name wins). */
function responseCookies(Response $response): array
{
    $out = [];
    foreach ($response->headers->getCookies() as $cookie) {
        $out[$cookie->getName()] = $cookie;
    }
    return $out;
}

/** A request as a browser would send it back: the given cookies, the frontend SDK headers. */
function browserRequest(array $cookies, array $headers = []): Request
{
    $server = [
        'HTTP_SUPERTOKENS_SDK_NAME' => 'supertokens-website',
        'HTTP_SUPERTOKENS_SDK_VERSION' => '4.0.0',
    ];
    foreach ($headers as $k => $v) {
        $server['HTTP_' . strtoupper(str_replace('-', '_', $k))] = $v;
    }
    return Request::create('/api', 'POST', [], $cookies, [], $server);
}

/** The session cookies (name => value) a response sets; checks they look like a fresh session. */
function sessionCookies(Response $response, HandshakeInfo $hs, string $what): array
{
    $c = responseCookies($response);
    $vals = [];
    foreach (['sAccessToken' => $hs->accessTokenPath, 'sRefreshToken' => $hs->refreshTokenPath, 'sIdRefreshToken' => $hs->accessTokenPath] as $name => $path) {
        check(isset($c[$name]), "$what: response sets no $name cookie (cookies: " . show(array_keys($c)) . ')');
        $cookie = $c[$name];
        check(is_string($cookie->getValue()) && $cookie->getValue() !== '', "$what: $name cookie is empty");
        check($cookie->getPath() === $path, "$what: $name cookie path " . show($cookie->getPath()) . ", handshake says " . show($path));
        check($cookie->getDomain() === $hs->cookieDomain, "$what: $name cookie domain " . show($cookie->getDomain()) . ", handshake cookieDomain " . show($hs->cookieDomain));
        check($cookie->isHttpOnly(), "$what: $name cookie not httpOnly");
        check($cookie->isSecure() === (bool)$hs->cookieSecure, "$what: $name cookie secure flag differs from handshake cookieSecure");
        check($cookie->getExpiresTime() > time() + 60, "$what: $name cookie expires too soon (" . $cookie->getExpiresTime() . ')');
        $vals[$name] = $cookie->getValue();
    }
    $idHeader = $response->headers->get('id-refresh-token');
    check(is_string($idHeader) && str_starts_with($idHeader, $vals['sIdRefreshToken'] . ';'),
        "$what: id-refresh-token header " . show($idHeader) . ' does not carry the idRefreshToken cookie value');
    return $vals;
}

/** Checks a response clears all three session cookies (as the SDK does on unauthorised/theft). */
function checkCleared(Response $response, string $what): void
{
    $c = responseCookies($response);
    foreach (['sAccessToken', 'sRefreshToken', 'sIdRefreshToken'] as $name) {
        check(isset($c[$name]) && ($c[$name]->getValue() === '' || $c[$name]->getValue() === null),
            "$what: $name cookie not cleared");
    }
    // The SDK appends to a header already set on the response (", remove" after the create's value).
    $id = (string)$response->headers->get('id-refresh-token');
    $parts = explode(', ', $id);
    check(end($parts) === 'remove', "$what: id-refresh-token header " . show($id) . " does not end in 'remove'");
}

function sessionHandleOf(Session $s): string
{
    $p = new ReflectionProperty(Session::class, 'sessionHandle');
    $p->setAccessible(true);
    return (string)$p->getValue($s);
}

function waitPastGrace(float $since, float $seconds): void
{
    while (microtime(true) - $since < $seconds) {
        usleep(50_000);
    }
}

// ---------------------------------------------------------------- scenario
$userId = 'php-sdk-user-' . bin2hex(random_bytes(6));
$jwtPayload = ['role' => 'admin', 'n' => 7];
$sessionData = ['counter' => 1, 'tags' => ['a', 'b']];
$hs = null;
$handle = null;
$cookies0 = $cookies1 = $cookies2 = null;
$lastRefreshAt = 0.0;

step('bootstrap', function () use ($app) {
    check($app->make('SuperTokens') instanceof SuperTokens, 'the service provider did not bind SuperTokens');
    check(\Illuminate\Support\Facades\Config::get('supertokens.hosts.0.port') !== null, 'supertokens.hosts not configured');
});

step('handshake', function () use (&$hs) {
    $hs = HandshakeInfo::getInstance();
    check(is_string($hs->jwtSigningPublicKey) && strlen($hs->jwtSigningPublicKey) > 100, 'jwtSigningPublicKey missing: ' . show($hs->jwtSigningPublicKey));
    $pem = "-----BEGIN PUBLIC KEY-----\n" . wordwrap($hs->jwtSigningPublicKey, 64, "\n", true) . "\n-----END PUBLIC KEY-----";
    check(openssl_pkey_get_public($pem) !== false, 'jwtSigningPublicKey is not an RSA public key the SDK can load');
    check(is_int($hs->jwtSigningPublicKeyExpiryTime) && $hs->jwtSigningPublicKeyExpiryTime > time() * 1000, 'jwtSigningPublicKeyExpiryTime ' . show($hs->jwtSigningPublicKeyExpiryTime));
    check(is_string($hs->cookieDomain) && $hs->cookieDomain !== '', 'cookieDomain ' . show($hs->cookieDomain));
    check(is_bool($hs->cookieSecure), 'cookieSecure ' . show($hs->cookieSecure));
    check(is_string($hs->accessTokenPath) && str_starts_with($hs->accessTokenPath, '/'), 'accessTokenPath ' . show($hs->accessTokenPath));
    check(is_string($hs->refreshTokenPath) && str_starts_with($hs->refreshTokenPath, '/'), 'refreshTokenPath ' . show($hs->refreshTokenPath));
    check(is_bool($hs->enableAntiCsrf), 'enableAntiCsrf ' . show($hs->enableAntiCsrf));
    check(is_bool($hs->accessTokenBlacklistingEnabled), 'accessTokenBlacklistingEnabled ' . show($hs->accessTokenBlacklistingEnabled));
});

// Headers a browser sends back: the anti-csrf token when the server hands one out.
$antiCsrf = [];

$created = step('create', function () use (&$hs, &$handle, &$cookies0, &$antiCsrf, $userId, $jwtPayload, $sessionData) {
    $response = new Response();
    $session = SuperTokens::createNewSession($response, $userId, $jwtPayload, $sessionData);
    check($session instanceof Session, 'createNewSession returned no Session');
    check($session->getUserId() === $userId, 'userId ' . show($session->getUserId()));
    check($session->getJWTPayload() == $jwtPayload, 'JWT payload ' . show($session->getJWTPayload()));
    $handle = sessionHandleOf($session);
    check($handle !== '', 'empty session handle');
    $cookies0 = sessionCookies($response, $hs, 'create');
    $csrf = $response->headers->get('anti-csrf');
    if ($hs->enableAntiCsrf) {
        check(is_string($csrf) && $csrf !== '', 'handshake enables anti-csrf but create set no anti-csrf header');
        $antiCsrf = ['anti-csrf' => $csrf];
    } else {
        check($csrf === null, 'anti-csrf header set although the handshake disables anti-csrf');
    }
});

step('session handles for user', function () use (&$handle, $userId) {
    $handles = SuperTokens::getAllSessionHandlesForUser($userId);
    check($handles === [$handle], 'getAllSessionHandlesForUser ' . show($handles) . ', expected [' . $handle . ']');
});

step('verify', function () use (&$cookies0, &$handle, &$antiCsrf, $userId, $jwtPayload) {
    check($cookies0 !== null, 'no session from create');
    $response = new Response();
    $session = SuperTokens::getSession(browserRequest($cookies0, $antiCsrf), $response, true);
    // V2 access tokens never match v0.1.1's hard-coded v1 JWT header, so the SDK asks the server.
    check(SessionHandlingFunctions::$SERVICE_CALLED === true, 'the SDK did not call POST /session/verify');
    check($session->getUserId() === $userId, 'userId ' . show($session->getUserId()));
    check(sessionHandleOf($session) === $handle, 'handle ' . show(sessionHandleOf($session)));
    check($session->getJWTPayload() == $jwtPayload, 'JWT payload ' . show($session->getJWTPayload()));
    $c = responseCookies($response);
    check(!isset($c['sRefreshToken']) && !isset($c['sIdRefreshToken']), 'verify touched refresh cookies');
});

step('verify without anti-csrf check', function () use (&$cookies0, &$handle, $userId) {
    check($cookies0 !== null, 'no session from create');
    $session = SuperTokens::getSession(browserRequest($cookies0), new Response(), false);
    check($session->getUserId() === $userId && sessionHandleOf($session) === $handle, 'wrong session ' . show([$session->getUserId(), sessionHandleOf($session)]));
});

step('verify tampered access token', function () use (&$cookies0) {
    check($cookies0 !== null, 'no session from create');
    $bad = $cookies0;
    $parts = explode('.', $bad['sAccessToken']);
    check(count($parts) === 3, 'access token is not three dot-separated parts');
    $payload = json_decode(base64_decode($parts[1]), true);
    check(is_array($payload), 'access token payload is not base64 JSON');
    $payload['userId'] = 'someone-else';
    $parts[1] = base64_encode(json_encode($payload));
    $bad['sAccessToken'] = implode('.', $parts);
    expectThrow(fn () => SuperTokens::getSession(browserRequest($bad), new Response(), false),
        SuperTokensTryRefreshTokenException::class, 'a forged access token');
});

step('session data', function () use (&$cookies0, &$handle, $sessionData) {
    check($cookies0 !== null, 'no session from create');
    $session = SuperTokens::getSession(browserRequest($cookies0), new Response(), false);
    $got = $session->getSessionData();
    check($got == $sessionData, 'getSessionData ' . show($got) . ', expected ' . show($sessionData));
    $session->updateSessionData(['counter' => 2, 'nested' => ['x' => true]]);
    $got = SuperTokens::getSessionData($handle);
    check($got == ['counter' => 2, 'nested' => ['x' => true]], 'after update: ' . show($got));
    SuperTokens::updateSessionData($handle, null);
    $got = SuperTokens::getSessionData($handle);
    check($got == [], 'after clearing: ' . show($got));
    SuperTokens::updateSessionData($handle, ['counter' => 3]);
    check(SuperTokens::getSessionData($handle) == ['counter' => 3], 'after second update: ' . show(SuperTokens::getSessionData($handle)));
});

step('refresh', function () use (&$hs, &$cookies0, &$cookies1, &$handle, &$antiCsrf, &$lastRefreshAt, $userId, $jwtPayload) {
    check($cookies0 !== null, 'no session from create');
    $response = new Response();
    $session = SuperTokens::refreshSession(browserRequest(['sRefreshToken' => $cookies0['sRefreshToken']]), $response);
    $lastRefreshAt = microtime(true);
    check($session->getUserId() === $userId, 'userId ' . show($session->getUserId()));
    check(sessionHandleOf($session) === $handle, 'handle changed: ' . show(sessionHandleOf($session)));
    check($session->getJWTPayload() == $jwtPayload, 'JWT payload ' . show($session->getJWTPayload()));
    $cookies1 = sessionCookies($response, $hs, 'refresh');
    check($cookies1['sRefreshToken'] !== $cookies0['sRefreshToken'], 'refresh token not rotated');
    check($cookies1['sAccessToken'] !== $cookies0['sAccessToken'], 'access token not renewed');
    if ($hs->enableAntiCsrf) {
        $csrf = $response->headers->get('anti-csrf');
        check(is_string($csrf) && $csrf !== '', 'no anti-csrf header after refresh');
        $antiCsrf = ['anti-csrf' => $csrf];
    }
});

step('verify refreshed access token', function () use (&$cookies1, &$handle, &$antiCsrf, $userId) {
    check($cookies1 !== null, 'no refreshed session');
    $session = SuperTokens::getSession(browserRequest($cookies1, $antiCsrf), new Response(), true);
    check($session->getUserId() === $userId && sessionHandleOf($session) === $handle, 'wrong session ' . show([$session->getUserId(), sessionHandleOf($session)]));
});

step('refresh with child token', function () use (&$hs, &$cookies0, &$cookies1, &$cookies2, &$handle, &$lastRefreshAt, $userId) {
    check($cookies1 !== null, 'no refreshed session');
    $response = new Response();
    $session = SuperTokens::refreshSession(browserRequest(['sRefreshToken' => $cookies1['sRefreshToken']]), $response);
    $lastRefreshAt = microtime(true);
    check($session->getUserId() === $userId && sessionHandleOf($session) === $handle, 'wrong session ' . show([$session->getUserId(), sessionHandleOf($session)]));
    $cookies2 = sessionCookies($response, $hs, 'second refresh');
    check($cookies2['sRefreshToken'] !== $cookies1['sRefreshToken'] && $cookies2['sRefreshToken'] !== $cookies0['sRefreshToken'], 'refresh token not rotated');
});

step('theft on replay after grace period', function () use (&$cookies0, &$handle, &$lastRefreshAt, $userId) {
    check($cookies0 !== null && $lastRefreshAt > 0, 'no refreshed session');
    waitPastGrace($lastRefreshAt, 1.5); // the server runs with refresh_token_rotation_grace_period: 1
    $response = new Response();
    $e = expectThrow(fn () => SuperTokens::refreshSession(browserRequest(['sRefreshToken' => $cookies0['sRefreshToken']]), $response),
        SuperTokensTokenTheftException::class, 'replaying the first refresh token');
    check($e->getSessionHandle() === $handle, 'theft names session handle ' . show($e->getSessionHandle()) . ', expected ' . $handle);
    check($e->getUserId() === $userId, 'theft names user ' . show($e->getUserId()) . ', expected ' . $userId);
    checkCleared($response, 'after theft');
});

// Tessera revokes a session the moment it detects theft (README: "theft revokes the session");
// the 2020 core left that to the app, whose customary revokeSessionUsingSessionHandle() then finds
// nothing left to revoke.
step('theft revoked the session', function () use (&$cookies2, &$handle, $userId) {
    check($cookies2 !== null, 'no live refresh token');
    $handles = SuperTokens::getAllSessionHandlesForUser($userId);
    check($handles === [], 'getAllSessionHandlesForUser after theft: ' . show($handles));
    $response = new Response();
    expectThrow(fn () => SuperTokens::refreshSession(browserRequest(['sRefreshToken' => $cookies2['sRefreshToken']]), $response),
        SuperTokensUnauthorisedException::class, 'refreshing with the newest refresh token of the stolen session');
    checkCleared($response, 'after unauthorised refresh');
    expectThrow(fn () => SuperTokens::getSessionData($handle), SuperTokensUnauthorisedException::class, 'getSessionData of the stolen session');
    expectThrow(fn () => SuperTokens::updateSessionData($handle, ['x' => 1]), SuperTokensUnauthorisedException::class, 'updateSessionData of the stolen session');
    check(SuperTokens::revokeSessionUsingSessionHandle($handle) === false, 'revoking the stolen session reported a session revoked');
});

/** A new session for $userId, refreshed once: [handle, live refresh token]. */
function liveSession(HandshakeInfo $hs, string $userId, $data): array
{
    $response = new Response();
    $s = SuperTokens::createNewSession($response, $userId, ['k' => 'v'], $data);
    $c = sessionCookies($response, $hs, 'create');
    $response = new Response();
    $r = SuperTokens::refreshSession(browserRequest(['sRefreshToken' => $c['sRefreshToken']]), $response);
    check(sessionHandleOf($r) === sessionHandleOf($s), 'refresh changed the handle');
    return [sessionHandleOf($s), sessionCookies($response, $hs, 'refresh')['sRefreshToken']];
}

function expectRefreshUnauthorised(string $refreshToken, string $what): void
{
    $response = new Response();
    expectThrow(fn () => SuperTokens::refreshSession(browserRequest(['sRefreshToken' => $refreshToken]), $response),
        SuperTokensUnauthorisedException::class, $what);
    checkCleared($response, $what);
}

step('revoke session by handle', function () use (&$hs, $userId) {
    $userId .= '-by-handle'; // its own user, so an earlier failure does not spill over
    [$h, $rt] = liveSession($hs, $userId, ['n' => 1]);
    check(SuperTokens::getAllSessionHandlesForUser($userId) === [$h], 'handles ' . show(SuperTokens::getAllSessionHandlesForUser($userId)));
    check(SuperTokens::getSessionData($h) == ['n' => 1], 'session data ' . show(SuperTokens::getSessionData($h)));
    check(SuperTokens::revokeSessionUsingSessionHandle($h) === true, 'revokeSessionUsingSessionHandle did not report the session revoked');
    check(SuperTokens::getAllSessionHandlesForUser($userId) === [], 'handles after revoke ' . show(SuperTokens::getAllSessionHandlesForUser($userId)));
    expectRefreshUnauthorised($rt, 'refreshing with the live refresh token of a revoked session');
    expectThrow(fn () => SuperTokens::getSessionData($h), SuperTokensUnauthorisedException::class, 'session data of a revoked session');
    check(SuperTokens::revokeSessionUsingSessionHandle($h) === false, 'revoking it again reported a session revoked');
});

step('Session::revokeSession', function () use (&$hs, $userId) {
    $userId .= '-revoke-session';
    $response = new Response();
    $s = SuperTokens::createNewSession($response, $userId, null, null);
    $c = sessionCookies($response, $hs, 'create');
    check(SuperTokens::getSessionData(sessionHandleOf($s)) == [], 'null session data did not come back empty: ' . show(SuperTokens::getSessionData(sessionHandleOf($s))));
    $s->revokeSession();
    checkCleared($response, 'after revokeSession');
    check(SuperTokens::getAllSessionHandlesForUser($userId) === [], 'handles after revokeSession ' . show(SuperTokens::getAllSessionHandlesForUser($userId)));
    expectRefreshUnauthorised($c['sRefreshToken'], 'refreshing a session revoked by revokeSession');
});

step('revoke all sessions for user', function () use (&$hs, $userId) {
    [$h1, $rt1] = liveSession($hs, $userId, null);
    [$h2, $rt2] = liveSession($hs, $userId, null);
    $other = $userId . '-other';
    [$h3, $rt3] = liveSession($hs, $other, null);
    $handles = SuperTokens::getAllSessionHandlesForUser($userId);
    sort($handles);
    $want = [$h1, $h2];
    sort($want);
    check($handles === $want, 'handles ' . show($handles) . ', expected ' . show($want));
    $n = SuperTokens::revokeAllSessionsForUser($userId);
    check($n === 2, 'revokeAllSessionsForUser returned ' . show($n) . ', expected 2');
    check(SuperTokens::getAllSessionHandlesForUser($userId) === [], 'handles after revoke: ' . show(SuperTokens::getAllSessionHandlesForUser($userId)));
    expectRefreshUnauthorised($rt1, 'refreshing the first revoked session');
    expectRefreshUnauthorised($rt2, 'refreshing the second revoked session');
    check(SuperTokens::revokeAllSessionsForUser($userId) === 0, 'a second revokeAllSessionsForUser revoked something');
    // Another user's session is untouched.
    check(SuperTokens::getAllSessionHandlesForUser($other) === [$h3], 'other user handles ' . show(SuperTokens::getAllSessionHandlesForUser($other)));
    $response = new Response();
    $s = SuperTokens::refreshSession(browserRequest(['sRefreshToken' => $rt3]), $response);
    check($s->getUserId() === $other, 'other user refresh gave ' . show($s->getUserId()));
    check(SuperTokens::revokeAllSessionsForUser($other) === 1, 'revoking the other user');
});

step('unknown refresh token is unauthorised', function () {
    $response = new Response();
    expectThrow(fn () => SuperTokens::refreshSession(browserRequest(['sRefreshToken' => 'not-a-refresh-token']), $response),
        SuperTokensUnauthorisedException::class, 'refreshing with garbage');
    checkCleared($response, 'after garbage refresh');
});

echo "php-sdk: $passed passed, $failed failed\n";
exit($failed === 0 ? 0 : 1);
