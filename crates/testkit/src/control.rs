//! Blocking JSON calls to the emulator's control API under `/_estate/`.
//!
//! The calls run on the calling thread with ureq, so they are usable from
//! inside a tokio test; each takes a few milliseconds on loopback.

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::EstateError;

/// A client for one emulator endpoint (`http://127.0.0.1:PORT`).
#[derive(Debug, Clone)]
pub(crate) struct ControlClient {
    endpoint: String,
    agent: ureq::Agent,
}

impl ControlClient {
    pub(crate) fn new(endpoint: &str) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .new_agent();
        Self {
            endpoint: endpoint.to_owned(),
            agent,
        }
    }

    pub(crate) fn get<T: DeserializeOwned>(&self, route: &str) -> Result<T, EstateError> {
        let url = format!("{}/_estate/{route}", self.endpoint);
        let response = self.agent.get(&url).call();
        Self::decode("GET", url, response)
    }

    pub(crate) fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        route: &str,
        body: &B,
    ) -> Result<T, EstateError> {
        let url = format!("{}/_estate/{route}", self.endpoint);
        let response = self.agent.post(&url).send_json(body);
        Self::decode("POST", url, response)
    }

    pub(crate) fn delete<T: DeserializeOwned>(&self, route: &str) -> Result<T, EstateError> {
        let url = format!("{}/_estate/{route}", self.endpoint);
        let response = self.agent.delete(&url).call();
        Self::decode("DELETE", url, response)
    }

    fn decode<T: DeserializeOwned>(
        method: &'static str,
        url: String,
        response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<T, EstateError> {
        let fail = |message: String| EstateError::Control {
            method,
            url: url.clone(),
            message,
        };
        let mut response = response.map_err(|error| fail(error.to_string()))?;
        let status = response.status();
        let text = response
            .body_mut()
            .read_to_string()
            .map_err(|error| fail(format!("reading the response body failed: {error}")))?;
        if !status.is_success() {
            return Err(fail(format!("HTTP {status}: {text}")));
        }
        serde_json::from_str(&text)
            .map_err(|error| fail(format!("invalid JSON response ({error}): {text}")))
    }
}
