//! OTLP traces: the decoder (JSON/protobuf bodies → [`crate::traces::Span`]s, also the reader
//! of OTLP span files) and the OTLP/HTTP receiver a run's program exports to.

pub(crate) mod decode;
mod receiver;

pub(crate) use decode::{attributes_from_json, decode_json_value};
pub use decode::{decode_json, decode_protobuf};
pub use receiver::{OtlpReceiver, MAX_BODY_BYTES};
