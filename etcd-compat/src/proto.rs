//! Generated protobuf types and gRPC stubs (servers and clients) for etcd's v3 API.
#![allow(clippy::all, missing_docs, unreachable_pub)]

pub mod mvccpb {
    tonic::include_proto!("mvccpb");
}
pub mod authpb {
    tonic::include_proto!("authpb");
}
pub mod etcdserverpb {
    tonic::include_proto!("etcdserverpb");
}
pub mod capstanpb {
    tonic::include_proto!("capstanpb");
}
