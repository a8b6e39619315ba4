//! Ownership bookkeeping of structured-merge-diff's `merge.Updater`: who owns
//! what after an update (ownership moves to the writer, removed fields drop
//! out) or an apply (conflict detection, pruning of fields the applier no
//! longer applies unless someone else still owns them).

use serde_json::Value;

use super::compare::{compare, Comparison};
use super::conflict::{ApplyError, Conflict};
use super::fieldset::FieldSet;
use super::managed::{ManagerId, VersionedSet};
use super::merge::merge;
use super::path::path_string;
use super::remove::remove_items;
use super::schema::Ty;
use super::tofieldset::{ensure_named_fields_are_members as ensure, to_field_set};
use super::ResetFields;

/// The managers of an object, keyed by identifier.
pub type Managers = std::collections::BTreeMap<ManagerId, VersionedSet>;

/// Runs updates and applies against one schema and reset policy.
pub struct Updater<'a> {
    pub ty: Ty<'a>,
    pub reset: ResetFields,
}

impl Updater<'_> {
    /// Go's `Updater.update`: compares `live` with `new`; every manager but
    /// `workflow` loses removed fields, and (when `force`, else it is a
    /// conflict) the fields that changed.
    fn update_managers(
        &self,
        live: &Value,
        new: &Value,
        managers: &mut Managers,
        workflow: &ManagerId,
        force: bool,
    ) -> Result<Comparison, Vec<Conflict>> {
        let cmp = compare(live, new, self.ty).filter(|s| self.reset.filter(s));
        let mut conflicts: Vec<(ManagerId, FieldSet)> = Vec::new();
        if managers.keys().any(|id| id != workflow) {
            let changed = cmp.modified.union(&cmp.added);
            for (id, vs) in managers.iter() {
                if id == workflow {
                    continue;
                }
                let c = vs.set.intersection(&changed);
                if !c.is_empty() {
                    conflicts.push((id.clone(), c));
                }
            }
        }
        if !force && !conflicts.is_empty() {
            conflicts.sort_by_key(|a| a.0.key());
            let list = conflicts
                .iter()
                .flat_map(|(id, set)| {
                    set.paths().into_iter().map(move |p| Conflict {
                        manager: id.manager.clone(),
                        path: path_string(&p),
                        id: id.clone(),
                        raw: p,
                    })
                })
                .collect();
            return Err(list);
        }
        for (id, set) in &conflicts {
            if let Some(vs) = managers.get_mut(id) {
                vs.set.subtract(set);
            }
        }
        if !cmp.removed.is_empty() {
            for (id, vs) in managers.iter_mut() {
                if id != workflow {
                    vs.set.subtract(&cmp.removed);
                }
            }
        }
        managers.retain(|_, vs| !vs.set.is_empty());
        Ok(cmp)
    }

    /// Go's `Updater.Update` for a non-apply write by `manager`: returns the
    /// fields `manager` newly took (changed or added), already merged into
    /// `managers` only if non-empty after `strip`.
    pub fn update(&self, live: &Value, new: &Value, managers: &mut Managers, workflow: &ManagerId) -> FieldSet {
        match self.update_managers(live, new, managers, workflow, true) {
            Ok(cmp) => {
                let mut set = managers.get(workflow).map(|vs| vs.set.clone()).unwrap_or_default();
                set.subtract(&cmp.removed);
                self.reset.filter(set.union_with(cmp.modified).union_with(cmp.added))
            }
            Err(_) => FieldSet::new(),
        }
    }

    /// Go's `Updater.Apply`: merges `config` onto `live`, gives `manager` the
    /// config's fields, prunes what it stopped applying and checks conflicts.
    /// Returns the merged object (with Go's nulls, see `remove`).
    pub fn apply(
        &self,
        live: &Value,
        config: &Value,
        api_version: &str,
        managers: &mut Managers,
        manager: &ManagerId,
        force: bool,
    ) -> Result<Value, ApplyError> {
        let merged = merge(live, config, self.ty)
            .map_err(|errs| ApplyError::Internal(format!("failed to merge config: {}", join_errs(&errs))))?;
        let last = managers.get(manager).map(|vs| vs.set.clone());
        let set = self.reset.filter(to_field_set(config, self.ty));
        managers.insert(manager.clone(), VersionedSet { set, api_version: api_version.into(), applied: true });
        let pruned = match last {
            Some(last) if !last.is_empty() => self.prune(&merged, managers, &last),
            _ => merged,
        };
        self.update_managers(live, &pruned, managers, manager, force).map_err(ApplyError::Conflicts)?;
        Ok(pruned)
    }

    /// Go's `Updater.prune`: removes from `merged` the fields of `last` (the
    /// applier's previous set) that nobody owns any more, keeping unowned
    /// fields that were never applied.
    fn prune(&self, merged: &Value, managers: &Managers, last: &FieldSet) -> Value {
        let ty = self.ty;
        let last = ensure(last, ty);
        let pruned = remove_items(merged, &last, ty);
        // addBackOwnedItems
        let managed = managers.values().fold(FieldSet::new(), |acc, vs| acc.union(&vs.set));
        let merged_set = ensure(&to_field_set(merged, ty), ty);
        let pruned_set = ensure(&to_field_set(&pruned, ty), ty);
        let keep = pruned_set.union(&ensure(&managed, ty));
        let pruned = remove_items(merged, &merged_set.difference(&keep), ty);
        // addBackDanglingItems
        let pruned_set = ensure(&to_field_set(&pruned, ty), ty);
        remove_items(merged, &merged_set.difference(&pruned_set).intersection(&last), ty)
    }
}

pub(crate) fn join_errs(errs: &[String]) -> String {
    match errs {
        [one] => one.clone(),
        _ => std::iter::once("errors:".to_string())
            .chain(errs.iter().map(|e| format!("  {e}")))
            .collect::<Vec<_>>()
            .join("\n"),
    }
}
