//! structured-merge-diff's `typed/merge_test.go` triplets (lhs, rhs, merged)
//! for scalars and sets, including its list-order and duplicate cases.

use serde_json::{json, Map, Value};

use super::super::merge::merge;
use super::super::schema::Ty;
use crate::patch::SchemaCursor;

const TRIPLETS: &[(&str, &str, &str)] = &[
    (r#"{"numeric":1}"#, r#"{"numeric":3.14159}"#, r#"{"numeric":3.14159}"#),
    (r#"{"numeric":3.14159}"#, r#"{"numeric":1}"#, r#"{"numeric":1}"#),
    (r#"{"string":"aoeu"}"#, r#"{"bool":true}"#, r#"{"string":"aoeu","bool":true}"#),
    (r#"{"setStr":["a","b","c"]}"#, r#"{"setStr":["a","b"]}"#, r#"{"setStr":["a","b","c"]}"#),
    (r#"{"setStr":["a","b"]}"#, r#"{"setStr":["a","b","c"]}"#, r#"{"setStr":["a","b","c"]}"#),
    (r#"{"setStr":["a","b","c"]}"#, r#"{"setStr":[]}"#, r#"{"setStr":["a","b","c"]}"#),
    (r#"{"setStr":[]}"#, r#"{"setStr":["a","b","c"]}"#, r#"{"setStr":["a","b","c"]}"#),
    (r#"{"setStr":["a","b"]}"#, r#"{"setStr":["b","a"]}"#, r#"{"setStr":["b","a"]}"#),
    (r#"{"setStr":["a","b","c"]}"#, r#"{"setStr":["d","e","f"]}"#, r#"{"setStr":["a","b","c","d","e","f"]}"#),
    (r#"{"setStr":["a","b","c"]}"#, r#"{"setStr":["c","d","e","f"]}"#, r#"{"setStr":["a","b","c","d","e","f"]}"#),
    (
        r#"{"setStr":["a","b","c","g","f"]}"#,
        r#"{"setStr":["c","d","e","f"]}"#,
        r#"{"setStr":["a","b","c","g","d","e","f"]}"#,
    ),
    (
        r#"{"setStr":["a","b","c"]}"#,
        r#"{"setStr":["d","e","f","x","y","z"]}"#,
        r#"{"setStr":["a","b","c","d","e","f","x","y","z"]}"#,
    ),
    (r#"{"setStr":["c","d","e","f"]}"#, r#"{"setStr":["a","c","e"]}"#, r#"{"setStr":["a","c","d","e","f"]}"#),
    (
        r#"{"setStr":["a","b","c","x","y","z"]}"#,
        r#"{"setStr":["d","e","f"]}"#,
        r#"{"setStr":["a","b","c","x","y","z","d","e","f"]}"#,
    ),
    (
        r#"{"setStr":["a","b","c","x","y","z"]}"#,
        r#"{"setStr":["d","e","f","x","y","z"]}"#,
        r#"{"setStr":["a","b","c","d","e","f","x","y","z"]}"#,
    ),
    (r#"{"setStr":["c","a","g","f"]}"#, r#"{"setStr":["c","f","a","g"]}"#, r#"{"setStr":["c","f","a","g"]}"#),
    (r#"{"setStr":["a","b","c","d"]}"#, r#"{"setStr":["d","e","f","a"]}"#, r#"{"setStr":["b","c","d","e","f","a"]}"#),
    (
        r#"{"setStr":["c","d","e","f","g","h","i","j"]}"#,
        r#"{"setStr":["2","h","3","e","4","k","l"]}"#,
        r#"{"setStr":["c","d","f","g","2","h","i","j","3","e","4","k","l"]}"#,
    ),
    (
        r#"{"setStr":["a","b","c","d","e","f","g","h","i","j"]}"#,
        r#"{"setStr":["1","b","2","h","3","e","4","k","l"]}"#,
        r#"{"setStr":["a","1","b","c","d","f","g","2","h","i","j","3","e","4","k","l"]}"#,
    ),
    (r#"{"setStr":["a","b","b"]}"#, r#"{"setStr":["c"]}"#, r#"{"setStr":["a","b","b","c"]}"#),
    (r#"{"setStr":["a","b","b"]}"#, r#"{"setStr":["b"]}"#, r#"{"setStr":["a","b"]}"#),
    (r#"{"setStr":["a","b","b"]}"#, r#"{"setStr":["a"]}"#, r#"{"setStr":["a","b","b"]}"#),
    (
        r#"{"setStr":["a","b","c","d","e","c"]}"#,
        r#"{"setStr":["1","b","2","e","d"]}"#,
        r#"{"setStr":["a","1","b","c","2","e","c","d"]}"#,
    ),
    (
        r#"{"setStr":["a","b","c","d","e","c"]}"#,
        r#"{"setStr":["1","b","2","c","e","d"]}"#,
        r#"{"setStr":["a","1","b","2","c","e","d"]}"#,
    ),
    (r#"{"setStr":["a","a","b","b"]}"#, r#"{"setStr":["b","c","d"]}"#, r#"{"setStr":["a","a","b","c","d"]}"#),
    (r#"{"setStr":["a","a","b","b"]}"#, r#"{"setStr":[]}"#, r#"{"setStr":["a","a","b","b"]}"#),
    (r#"{"setBool":[true]}"#, r#"{"setBool":[false]}"#, r#"{"setBool":[true, false]}"#),
    (r#"{"setNumeric":[1,2,3.14159]}"#, r#"{"setNumeric":[1,2,3]}"#, r#"{"setNumeric":[1,2,3.14159,3]}"#),
    (r#"{"setStr":["c","a","g","f","c","a"]}"#, r#"{"setStr":["c","f","a","g"]}"#, r#"{"setStr":["c","f","a","g"]}"#),
    (r#"{"setNumeric":[1,2,3.14159,1,2]}"#, r#"{"setNumeric":[1,2,3]}"#, r#"{"setNumeric":[1,2,3.14159,3]}"#),
    (r#"{"setBool":[true,false,true]}"#, r#"{"setBool":[false]}"#, r#"{"setBool":[true,false,true]}"#),
    (r#"{"setBool":[true,false,true]}"#, r#"{"setBool":[true]}"#, r#"{"setBool":[true, false]}"#),
];

#[test]
fn go_merge_triplets() {
    let set = |t: &str| json!({"type": "array", "items": {"type": t}, "x-kubernetes-list-type": "set"});
    let schema = json!({"type": "object", "properties": {
        "numeric": {"type": "number"}, "string": {"type": "string"}, "bool": {"type": "boolean"},
        "setStr": set("string"), "setBool": set("boolean"), "setNumeric": set("number")
    }});
    let defs = Map::new();
    let compiled = super::super::SsaSchema::compile(SchemaCursor::from_node(&defs, &schema));
    let ty = Ty::new(Some(&compiled));
    for (i, (lhs, rhs, out)) in TRIPLETS.iter().enumerate() {
        let parse = |s: &str| serde_json::from_str::<Value>(s).unwrap_or(Value::Null);
        let got = merge(&parse(lhs), &parse(rhs), ty);
        assert_eq!(got, Ok(parse(out)), "triplet {i}: {lhs} + {rhs}");
    }
}
