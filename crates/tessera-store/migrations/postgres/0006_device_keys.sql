-- The device key a session is bound to (a JWK with its alg, as JSON), NULL while unbound.
ALTER TABLE sessions ADD COLUMN device_key TEXT;
