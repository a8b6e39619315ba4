//! The CEL environment rules are compiled and evaluated with: the CEL standard library, the
//! `strings`, `lists` and `math` extensions of the `cel` crate, and the Kubernetes CEL libraries
//! real CRDs use (`k8s.io/apiserver/pkg/cel/library`), implemented here as overloads:
//!
//! - [`lists`]: `isSorted`, `sum`, `min`, `max`, `indexOf`, `lastIndexOf` on lists, and the
//!   `sets.contains`/`sets.equivalent`/`sets.intersects` extension;
//! - [`regex`]: `find`, `findAll`;
//! - [`quantity`]: `quantity`, `isQuantity` and the methods of quantities;
//! - [`net`]: `ip`, `isIP`, `cidr`, `isCIDR`, `url`, `isURL` and their methods.
//!
//! Not implemented: the `format`, `semver` and `authz` libraries and two-variable
//! comprehensions. A call to one of them fails as an undeclared reference, which
//! [`CelRules::validate`](super::CelRules::validate) logs and skips.

pub(super) mod lists;
pub(super) mod net;
pub(super) mod quantity;
pub(super) mod regex;

use cel::common::types::Type;
use cel::common::value::{CowVal, Val};
use cel::{Env, ExecutionError, Value};
use std::sync::{Arc, OnceLock};

/// The environment every rule is compiled and run with, built once per process.
pub(super) fn env() -> &'static Arc<Env> {
    static ENV: OnceLock<Arc<Env>> = OnceLock::new();
    ENV.get_or_init(|| Arc::new(build()))
}

fn build() -> Env {
    let mut env = Env::stdlib();
    for (name, result) in [
        ("strings", env.add_extension(cel::extensions::strings)),
        ("lists", env.add_extension(cel::extensions::lists)),
        ("math", env.add_extension(cel::extensions::math)),
    ] {
        if let Err(err) = result {
            tracing::debug!(extension = name, %err, "CEL extension not registered");
        }
    }
    let mut reg = Registrar { env: &mut env };
    lists::register(&mut reg);
    regex::register(&mut reg);
    quantity::register(&mut reg);
    net::register(&mut reg);
    env
}

/// The signature every overload below is written with.
pub(super) type Overload = cel::common::functions::Function;

/// Declares overloads, logging (rather than failing on) a declaration the environment refuses.
pub(super) struct Registrar<'e> {
    env: &'e mut Env,
}

impl Registrar<'_> {
    /// A global function `name(args…)`.
    pub(super) fn global(&mut self, name: &str, args: Vec<Type>, op: Overload) {
        let names: Vec<&str> = args.iter().map(Type::name).collect();
        let id = format!("capstan_{name}_global_{}", names.join("_"));
        if let Err(err) = self.env.add_overload(name, &id, args, op) {
            tracing::debug!(function = name, %err, "CEL overload not registered");
        }
    }

    /// A member function `target.name(args…)`.
    pub(super) fn member(&mut self, name: &str, target: Type, args: Vec<Type>, op: Overload) {
        let names: Vec<&str> = std::iter::once(&target).chain(&args).map(Type::name).collect();
        let id = format!("capstan_{name}_member_{}", names.join("_"));
        if let Err(err) = self.env.add_member_overload(name, &id, target, args, op) {
            tracing::debug!(function = name, %err, "CEL overload not registered");
        }
    }
}

/// Runs `f` on the arguments converted to [`Value`]s and converts its result back.
pub(super) fn with_values<'b, 'v>(
    args: Vec<CowVal<'b, 'v>>,
    f: fn(&[Value]) -> Result<Value, ExecutionError>,
) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let values = args.iter().map(|a| Value::try_from(a.as_ref())).collect::<Result<Vec<_>, _>>()?;
    let out = f(&values)?;
    let boxed: Box<dyn Val> = out.try_into()?;
    Ok(CowVal::Owned(boxed))
}

/// Defines an [`Overload`] named `$name` that runs `$imp: fn(&[Value]) -> Result<Value, ExecutionError>`.
macro_rules! value_overload {
    ($name:ident, $imp:expr) => {
        fn $name<'b, 'v>(
            args: Vec<cel::common::value::CowVal<'b, 'v>>,
        ) -> Result<cel::common::value::CowVal<'b, 'v>, cel::ExecutionError> {
            $crate::crd::cel::functions::with_values(args, $imp)
        }
    };
}
pub(super) use value_overload;

/// The error a function reports for bad input, as `Error executing function '<name>': <message>`.
pub(super) fn fn_error(function: &str, message: impl std::fmt::Display) -> ExecutionError {
    ExecutionError::function_error(function, message)
}

/// The `n`th argument, or an argument-count error.
pub(super) fn arg(args: &[Value], n: usize) -> Result<&Value, ExecutionError> {
    args.get(n).ok_or_else(|| ExecutionError::invalid_argument_count(n + 1, args.len()))
}

/// The `n`th argument as a string.
pub(super) fn str_arg<'a>(function: &str, args: &'a [Value], n: usize) -> Result<&'a str, ExecutionError> {
    match arg(args, n)? {
        Value::String(s) => Ok(s.as_str()),
        other => Err(no_overload(function, &[other])),
    }
}

/// A no-such-overload error for `function` applied to `args`.
pub(super) fn no_overload(function: &str, args: &[&Value]) -> ExecutionError {
    ExecutionError::no_such_overload(function, args.iter().map(|v| v.type_of().to_string()).collect())
}

/// The opaque value of type `T` in `value`, if it holds one.
pub(super) fn opaque<T: 'static>(value: &Value) -> Option<&T> {
    match value {
        Value::Opaque(o) => o.downcast_ref::<T>(),
        _ => None,
    }
}
