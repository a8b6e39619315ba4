//! openraft's type configuration: what a log entry carries (a [`Command`]),
//! what applying it returns, and what the cluster knows about a member.

use std::fmt;

use prost::Message;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::apply::Response;
use crate::error::{Error, Result};
use crate::proto::capstanpb::{apply_result, ApplyError, ApplyResult, ApplyResults, Command, CommandBatch};

/// A member as the Raft membership records it. Peer URLs are what replication
/// dials; name and client URLs are published by the member when it starts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub name: String,
    pub peer_urls: Vec<String>,
    pub client_urls: Vec<String>,
}

impl fmt::Display for Member {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.name, self.peer_urls.join(","))
    }
}

/// A log entry's payload: the commands the leader batched into it (one Raft
/// append, one fsync for all), serialized as protobuf bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Request(pub Vec<Command>);

impl Serialize for Request {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let batch = CommandBatch { commands: self.0.clone() };
        s.serialize_bytes(&batch.encode_to_vec())
    }
}

impl<'de> Deserialize<'de> for Request {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let bytes: serde_bytes_compat::Bytes = Deserialize::deserialize(d)?;
        CommandBatch::decode(bytes.0.as_slice()).map(|b| Request(b.commands)).map_err(serde::de::Error::custom)
    }
}

/// The results of applying one entry, one per command. Errors are results
/// too: every member computes the same ones.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Reply(pub Vec<Result<Response>>);

impl Serialize for Reply {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let results = ApplyResults { results: self.0.iter().map(encode_result).collect() };
        s.serialize_bytes(&results.encode_to_vec())
    }
}

impl<'de> Deserialize<'de> for Reply {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let bytes: serde_bytes_compat::Bytes = Deserialize::deserialize(d)?;
        let msg = ApplyResults::decode(bytes.0.as_slice()).map_err(serde::de::Error::custom)?;
        Ok(Reply(msg.results.into_iter().map(decode_result).collect()))
    }
}

/// Encodes an apply outcome for the wire (a forwarded proposal's answer).
pub fn encode_result(r: &Result<Response>) -> ApplyResult {
    use apply_result::Result as R;
    let result = match r {
        Ok(Response::Put(x)) => R::Put(x.clone()),
        Ok(Response::DeleteRange(x)) => R::DeleteRange(x.clone()),
        Ok(Response::Txn(x)) => R::Txn(x.clone()),
        Ok(Response::Compaction(x)) => R::Compaction(*x),
        Ok(Response::LeaseGrant(x)) => R::LeaseGrant(x.clone()),
        Ok(Response::LeaseRevoke(x)) => R::LeaseRevoke(*x),
        Ok(Response::Alarm(x)) => R::Alarm(x.clone()),
        Ok(Response::Auth(x)) => R::Auth(*x),
        Err(e) => R::Error(encode_error(e)),
    };
    ApplyResult { result: Some(result) }
}

pub fn encode_error(e: &Error) -> ApplyError {
    ApplyError { code: e.code() as i32, message: e.to_string() }
}

pub fn decode_error(e: ApplyError) -> Error {
    Error::Remote { code: e.code, message: e.message }
}

pub fn decode_result(msg: ApplyResult) -> Result<Response> {
    use apply_result::Result as R;
    match msg.result {
        Some(R::Put(x)) => Ok(Response::Put(x)),
        Some(R::DeleteRange(x)) => Ok(Response::DeleteRange(x)),
        Some(R::Txn(x)) => Ok(Response::Txn(x)),
        Some(R::Compaction(x)) => Ok(Response::Compaction(x)),
        Some(R::LeaseGrant(x)) => Ok(Response::LeaseGrant(x)),
        Some(R::LeaseRevoke(x)) => Ok(Response::LeaseRevoke(x)),
        Some(R::Alarm(x)) => Ok(Response::Alarm(x)),
        Some(R::Auth(x)) => Ok(Response::Auth(x)),
        Some(R::Error(e)) => Err(decode_error(e)),
        None => Err(Error::Corrupt("empty apply result".into())),
    }
}

/// `serialize_bytes` counterpart without pulling in serde_bytes.
mod serde_bytes_compat {
    use serde::de::{Deserialize, Deserializer, SeqAccess, Visitor};

    pub struct Bytes(pub Vec<u8>);

    impl<'de> Deserialize<'de> for Bytes {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Bytes;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("bytes")
                }
                fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Bytes, E> {
                    Ok(Bytes(v.to_vec()))
                }
                fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<Bytes, E> {
                    Ok(Bytes(v))
                }
                fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Bytes, A::Error> {
                    let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                    while let Some(b) = seq.next_element::<u8>()? {
                        out.push(b);
                    }
                    Ok(Bytes(out))
                }
            }
            d.deserialize_byte_buf(V)
        }
    }
}

openraft::declare_raft_types!(
    /// The Raft type configuration of an etcd-compat cluster.
    pub TypeConfig:
        D = Request,
        R = Reply,
        NodeId = u64,
        Node = Member,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = Vec<u8>,
        AsyncRuntime = openraft::TokioRuntime,
        Responder = openraft::impls::OneshotResponder<TypeConfig>,
);

pub type NodeId = u64;
pub type Entry = openraft::Entry<TypeConfig>;
pub type LogId = openraft::LogId<NodeId>;
pub type Vote = openraft::Vote<NodeId>;
pub type StoredMembership = openraft::StoredMembership<NodeId, Member>;
pub type SnapshotMeta = openraft::SnapshotMeta<NodeId, Member>;
pub type Snapshot = openraft::Snapshot<TypeConfig>;
pub type Raft = openraft::Raft<TypeConfig>;
pub type StorageError = openraft::StorageError<NodeId>;

/// bincode for openraft's messages on the peer wire and on disk.
pub fn encode<T: Serialize>(v: &T) -> Result<Vec<u8>> {
    bincode::serialize(v).map_err(|e| Error::Corrupt(format!("encode: {e}")))
}

pub fn decode<T: serde::de::DeserializeOwned>(b: &[u8]) -> Result<T> {
    bincode::deserialize(b).map_err(|e| Error::Corrupt(format!("decode: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::capstanpb::command::Op;
    use crate::proto::etcdserverpb::PutRequest;

    #[test]
    fn request_and_reply_roundtrip_through_bincode() {
        let cmd = Command {
            op: Some(Op::Put(PutRequest { key: b"k".to_vec(), value: vec![0, 1, 2], ..Default::default() })),
            user: "u".into(),
        };
        let back: Request = decode(&encode(&Request(vec![cmd.clone(), cmd.clone()])).unwrap()).unwrap();
        assert_eq!(back.0, vec![cmd.clone(), cmd]);
        let back: Reply = decode(&encode(&Reply(vec![Err(Error::KeyNotFound)])).unwrap()).unwrap();
        let e = back.0.into_iter().next().unwrap().unwrap_err();
        assert_eq!(e.to_string(), Error::KeyNotFound.to_string());
        assert_eq!(e.code(), Error::KeyNotFound.code());
    }
}
