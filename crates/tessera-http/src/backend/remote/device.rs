//! Device binding through the server's own endpoints (`/tessera/device/…`, docs/protocol.md):
//! the server keeps the keys and checks the proofs; this side only carries them.

use reqwest::Method;
use serde_json::Value;
use tessera_cdi::{DeviceJson, DeviceRefusal, DeviceRequest, SessionReply, Status};
use tessera_core::device::{ChallengeError, ProofError};
use tessera_core::{
    DeviceBinding, DeviceChallenge, DeviceError, RefreshToken, SessionError, SessionTokens,
};

use super::wire::{into_tokens, malformed, ReplyExt};
use super::RemoteSessions;

impl RemoteSessions {
    /// A challenge for a proof about the refresh token's session.
    pub async fn device_challenge(
        &self,
        refresh_token: &RefreshToken,
    ) -> Result<DeviceChallenge, SessionError> {
        let device = device(
            self.device_call("challenge", refresh_token, None)
                .await?
                .ok()?,
        )?;
        Ok(DeviceChallenge {
            session_handle: device.session_handle,
            challenge: device
                .challenge
                .ok_or_else(|| malformed("no device challenge"))?,
            bound: device.bound,
        })
    }

    /// Binds the refresh token's session to the key of a registration proof.
    pub async fn bind_device(
        &self,
        refresh_token: &RefreshToken,
        proof: &str,
    ) -> Result<DeviceBinding, DeviceError> {
        let reply = self.device_call("bind", refresh_token, Some(proof)).await?;
        let device = device(proven(reply)?.ok()?)?;
        Ok(DeviceBinding {
            session_handle: device.session_handle,
            thumbprint: device
                .thumbprint
                .ok_or_else(|| malformed("no device thumbprint"))?,
        })
    }

    /// Rotates a bound session's tokens on its device's proof.
    pub async fn refresh_bound_session(
        &self,
        refresh_token: &RefreshToken,
        proof: &str,
        _options: tessera_core::RefreshOptions,
    ) -> Result<SessionTokens, DeviceError> {
        let reply = self
            .device_call("refresh", refresh_token, Some(proof))
            .await?;
        let reply = proven(reply)?;
        Ok(into_tokens(self.noting_theft(reply.ok())?)?)
    }

    /// The thumbprint of the device key a live session is bound to, if it is bound.
    pub async fn device_thumbprint(
        &self,
        session_handle: &str,
    ) -> Result<Option<String>, SessionError> {
        let segments = ["tessera", "device"];
        let query = [("sessionHandle", session_handle)];
        let reply = self
            .http()
            .call(Method::GET, &segments, &query, None::<&Value>)
            .await?
            .ok()?;
        Ok(device(reply)?.thumbprint)
    }

    /// Whether the session of this access token was ended by a detected theft
    /// (`POST /tessera/session/ended`).
    pub async fn ended_by_theft(
        &self,
        access_token: &tessera_core::AccessToken,
    ) -> Result<bool, SessionError> {
        let body = tessera_cdi::EndedRequest {
            access_token: access_token.expose().to_owned(),
        };
        let reply = self
            .http()
            .call(
                Method::POST,
                &["tessera", "session", "ended"],
                &[],
                Some(&body),
            )
            .await?
            .ok()?;
        reply
            .ended_by_theft
            .ok_or_else(|| malformed("no endedByTheft"))
    }

    async fn device_call(
        &self,
        route: &str,
        refresh_token: &RefreshToken,
        proof: Option<&str>,
    ) -> Result<SessionReply, SessionError> {
        let body = DeviceRequest {
            refresh_token: refresh_token.expose().to_owned(),
            proof: proof.map(str::to_owned),
        };
        self.http()
            .call(
                Method::POST,
                &["tessera", "device", route],
                &[],
                Some(&body),
            )
            .await
    }
}

/// The reply, or the refusal of the proof it carries.
fn proven(reply: SessionReply) -> Result<SessionReply, DeviceError> {
    if reply.status == Status::Unauthorised {
        let message = reply.message.clone().unwrap_or_default();
        match reply.device_refused {
            Some(DeviceRefusal::Challenge) => return Err(ChallengeError::Foreign.into()),
            Some(DeviceRefusal::Proof) => return Err(ProofError::RefusedRemotely(message).into()),
            None => {}
        }
    }
    Ok(reply)
}

fn device(mut reply: SessionReply) -> Result<DeviceJson, SessionError> {
    reply
        .device
        .take()
        .ok_or_else(|| malformed("no device object"))
}
