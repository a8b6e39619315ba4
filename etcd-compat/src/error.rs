//! The crate's error type. Variants carry etcd's exact error text; `From<Error>
//! for tonic::Status` gives etcd's gRPC code for each (see etcd's `rpctypes`).

use tonic::Code;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("etcdserver: key is not provided")]
    EmptyKey,
    #[error("etcdserver: key not found")]
    KeyNotFound,
    #[error("etcdserver: value is provided")]
    ValueProvided,
    #[error("etcdserver: lease is provided")]
    LeaseProvided,
    #[error("etcdserver: too many operations in txn request")]
    TooManyOps,
    #[error("etcdserver: duplicate key given in txn request")]
    DuplicateKey,
    #[error("etcdserver: request is too large")]
    RequestTooLarge,
    #[error("etcdserver: mvcc: required revision has been compacted")]
    Compacted,
    #[error("etcdserver: mvcc: required revision is a future revision")]
    FutureRevision,
    #[error("etcdserver: mvcc: database space exceeded")]
    NoSpace,
    #[error("etcdserver: requested lease not found")]
    LeaseNotFound,
    #[error("etcdserver: lease already exists")]
    LeaseExists,
    #[error("etcdserver: too large lease TTL")]
    LeaseTtlTooLarge,
    #[error("etcdserver: member not found")]
    MemberNotFound,
    #[error("etcdserver: root user does not exist")]
    RootUserNotExist,
    #[error("etcdserver: root user does not have root role")]
    RootRoleNotExist,
    #[error("etcdserver: user name already exists")]
    UserAlreadyExists,
    #[error("etcdserver: user name is empty")]
    UserEmpty,
    #[error("etcdserver: user name not found")]
    UserNotFound,
    #[error("etcdserver: role name already exists")]
    RoleAlreadyExists,
    #[error("etcdserver: role name not found")]
    RoleNotFound,
    #[error("etcdserver: role name is empty")]
    RoleEmpty,
    #[error("etcdserver: authentication failed, invalid user ID or password")]
    AuthFailed,
    #[error("etcdserver: permission not given")]
    PermissionNotGiven,
    #[error("etcdserver: permission denied")]
    PermissionDenied,
    #[error("etcdserver: role is not granted to the user")]
    RoleNotGranted,
    #[error("etcdserver: permission is not granted to the role")]
    PermissionNotGranted,
    #[error("etcdserver: authentication is not enabled")]
    AuthNotEnabled,
    #[error("etcdserver: invalid auth token")]
    InvalidAuthToken,
    #[error("etcdserver: invalid auth management")]
    InvalidAuthMgmt,
    /// etcd has no gRPC mapping for this one, so clients see its raw text.
    #[error("auth: authentication failed, password was given for no password user")]
    NoPasswordUser,
    #[error("etcdserver: not capable")]
    NotCapable,
    #[error("etcdserver: server stopped")]
    Stopped,
    #[error("etcdserver: request timed out")]
    Timeout,
    #[error("etcdserver: no leader")]
    NoLeader,
    #[error("etcdserver: {0}")]
    InvalidArgument(String),
    #[error("etcdserver: bad leader transferee")]
    BadLeaderTransferee,
    /// A snapshot restore failure, worded like etcdutl's.
    #[error("{0}")]
    Restore(String),
    /// A storage engine failure; the message comes from the engine.
    #[error("etcdserver: storage engine: {0}")]
    Engine(String),
    /// Persisted data that does not decode.
    #[error("etcdserver: corrupt data: {0}")]
    Corrupt(String),
    #[error("etcdserver: {0}")]
    Io(String),
    #[error("etcdserver: leader changed")]
    LeaderChanged,
    #[error("etcdserver: request timed out, possibly due to connection lost")]
    TimeoutDueToConnectionLost,
    #[error("etcdserver: unhealthy cluster")]
    UnhealthyCluster,
    #[error("etcdserver: Peer URLs already exists")]
    PeerUrlExists,
    #[error("etcdserver: re-configuration failed due to not enough started members")]
    NotEnoughStartedMembers,
    #[error("etcdserver: can only promote a learner member which is in sync with leader")]
    LearnerNotReady,
    #[error("etcdserver: can only promote a learner member")]
    MemberNotLearner,
    #[error("etcdserver: too many learner members in cluster")]
    TooManyLearners,
    #[error("etcdserver: the member has been permanently removed from the cluster")]
    MemberRemoved,
    #[error("etcdserver: rpc not supported for learner")]
    NotSupportedForLearner,
    #[error("etcdserver: not leader")]
    NotLeader,
    #[error("etcdserver: request timed out, leader transfer took too long")]
    LeaderTransferTimeout,
    #[error("etcdserver: raft: {0}")]
    Raft(String),
    /// An error another member returned for a forwarded request; keeps its
    /// gRPC code and text so the client sees what the leader said.
    #[error("{message}")]
    Remote { code: i32, message: String },
}

impl Error {
    pub fn code(&self) -> Code {
        use Error::*;
        match self {
            EmptyKey | KeyNotFound | ValueProvided | LeaseProvided | TooManyOps | DuplicateKey | RequestTooLarge
            | UserEmpty | RoleEmpty | AuthFailed | PermissionNotGiven | InvalidAuthMgmt | InvalidArgument(_) => {
                Code::InvalidArgument
            }
            Compacted | FutureRevision | LeaseTtlTooLarge => Code::OutOfRange,
            NoSpace => Code::ResourceExhausted,
            BadLeaderTransferee | Restore(_) | PeerUrlExists | LearnerNotReady | MemberNotLearner | TooManyLearners => {
                Code::FailedPrecondition
            }
            LeaderChanged | TimeoutDueToConnectionLost | UnhealthyCluster | NotEnoughStartedMembers => {
                Code::Unavailable
            }
            MemberRemoved | NotLeader => Code::FailedPrecondition,
            LeaderTransferTimeout | NotSupportedForLearner => Code::Unavailable,
            Raft(_) => Code::Unavailable,
            Remote { code, .. } => Code::from_i32(*code),
            LeaseNotFound | MemberNotFound => Code::NotFound,
            LeaseExists | RootUserNotExist | RootRoleNotExist | UserAlreadyExists | UserNotFound
            | RoleAlreadyExists | RoleNotFound | RoleNotGranted | PermissionNotGranted | AuthNotEnabled => {
                Code::FailedPrecondition
            }
            PermissionDenied => Code::PermissionDenied,
            InvalidAuthToken => Code::Unauthenticated,
            NotCapable | Stopped | Timeout | NoLeader => Code::Unavailable,
            Corrupt(_) => Code::DataLoss,
            Engine(_) | Io(_) => Code::Internal,
            NoPasswordUser => Code::Unknown,
        }
    }
}

impl From<Error> for tonic::Status {
    fn from(e: Error) -> Self {
        tonic::Status::new(e.code(), e.to_string())
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e.to_string())
    }
}

impl From<prost::DecodeError> for Error {
    fn from(e: prost::DecodeError) -> Self {
        Error::Corrupt(e.to_string())
    }
}
