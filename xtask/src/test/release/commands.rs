//! Every `cargo xtask …` a workflow `run:` block calls, checked against the xtask's own clap
//! definition (the one `--help` prints): the subcommand exists, every flag exists, and values
//! that come from the matrix or env are each valid (`--tool "$TOOL"` over the matrix's tools).

use std::collections::BTreeMap;

use clap::{CommandFactory, Parser};
use serde_json::Value;

use crate::flags::Xtask;

/// A word of a shell command after expression and variable substitution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Word {
    Literal(String),
    /// Known only at run time (`${{ github.ref_name }}`, `"$TAG"` without a known value).
    Unknown,
    /// One of these values (`"$TOOL"` whose env is `${{ matrix.tool }}`).
    OneOf(Vec<String>),
}

/// Splits one shell line into words: quotes removed, `${{ … }}` and `$VAR` resolved via `vars`.
/// Operators (`&&`, `||`, `;`, `|`, redirections) come back as their own literal words.
pub fn split_words(line: &str, vars: &dyn Fn(&str) -> Word) -> Vec<Word> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut dynamic: Option<Word> = None;
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    let finish = |words: &mut Vec<Word>, current: &mut String, dynamic: &mut Option<Word>| {
        match dynamic.take() {
            // A word that is one whole variable keeps that variable's values.
            Some(w) if current.is_empty() => words.push(w),
            Some(_) => words.push(Word::Unknown),
            None => words.push(Word::Literal(std::mem::take(current))),
        }
        current.clear();
    };
    while i < chars.len() {
        let c = chars[i];
        if quote.is_none() && c == '#' && !in_word {
            break;
        }
        if line[byte_offset(&chars, i)..].starts_with("${{") {
            let rest = &line[byte_offset(&chars, i)..];
            let end = rest.find("}}").map_or(rest.len(), |e| e + 2);
            let expr = rest[3..end.saturating_sub(2)].trim();
            merge(
                &mut dynamic,
                &mut current,
                vars(&format!("${{{{ {expr} }}}}")),
            );
            in_word = true;
            i += rest[..end].chars().count();
            continue;
        }
        if c == '$' && quote != Some('\'') {
            let rest: String = chars[i + 1..].iter().collect();
            let (name, used) = if let Some(inner) = rest.strip_prefix('{') {
                let n: String = inner.chars().take_while(|c| *c != '}').collect();
                let used = n.chars().count() + 2;
                (n, used)
            } else {
                let n: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                let used = n.chars().count();
                (n, used)
            };
            if !name.is_empty() {
                merge(&mut dynamic, &mut current, vars(&name));
                in_word = true;
                i += 1 + used;
                continue;
            }
        }
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => current.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    finish(&mut words, &mut current, &mut dynamic);
                    in_word = false;
                }
            }
            (None, ';' | '|' | '&' | '>' | '<') => {
                if in_word {
                    finish(&mut words, &mut current, &mut dynamic);
                    in_word = false;
                }
                let mut op = c.to_string();
                while i + 1 < chars.len() && matches!(chars[i + 1], '|' | '&' | '>') {
                    i += 1;
                    op.push(chars[i]);
                }
                words.push(Word::Literal(op));
            }
            (None, c) => {
                current.push(c);
                in_word = true;
            }
        }
        i += 1;
    }
    if in_word {
        finish(&mut words, &mut current, &mut dynamic);
    }
    words
}

fn byte_offset(chars: &[char], i: usize) -> usize {
    chars[..i].iter().map(|c| c.len_utf8()).sum()
}

/// Folds a variable into the word being built: alone it keeps its values, mixed it is unknown.
fn merge(dynamic: &mut Option<Word>, current: &mut String, value: Word) {
    match (&dynamic, value) {
        (None, Word::Literal(s)) => current.push_str(&s),
        (None, w) if current.is_empty() => *dynamic = Some(w),
        _ => *dynamic = Some(Word::Unknown),
    }
}

fn is_operator(word: &Word) -> bool {
    matches!(word, Word::Literal(s) if !s.is_empty() && s.chars().all(|c| matches!(c, ';' | '|' | '&' | '>' | '<')))
}

/// The argument lists after each `cargo xtask` in a `run:` script (continuations joined).
pub fn xtask_invocations(script: &str, vars: &dyn Fn(&str) -> Word) -> Vec<Vec<Word>> {
    let joined = script.replace("\\\r\n", " ").replace("\\\n", " ");
    let mut found = Vec::new();
    for line in joined.lines() {
        let words = split_words(line, vars);
        let mut i = 0;
        while i + 1 < words.len() {
            if words[i] == Word::Literal("cargo".into())
                && words[i + 1] == Word::Literal("xtask".into())
            {
                let args: Vec<Word> = words[i + 2..]
                    .iter()
                    .take_while(|w| !is_operator(w))
                    .cloned()
                    .collect();
                i += 2 + args.len();
                found.push(args);
            } else {
                i += 1;
            }
        }
    }
    found
}

/// Checks one invocation: every concrete argv it can expand to must parse with the real flags
/// (suite names included: `--only`/`--skip` take a `ValueEnum`, so `_suites` is not needed).
pub fn check_invocation(args: &[Word], _suites: &[&str]) -> Result<(), String> {
    let shown = show(args);
    let Some(Word::Literal(sub)) = args.first() else {
        return Err(format!(
            "`cargo xtask {shown}`: the subcommand is not a literal"
        ));
    };
    let command = Xtask::command();
    let Some(subcommand) = command.find_subcommand(sub) else {
        return Err(format!(
            "`cargo xtask {shown}`: there is no subcommand `{sub}`"
        ));
    };
    for argv in expand(args, subcommand) {
        let full: Vec<&str> = std::iter::once("cargo xtask")
            .chain(argv.iter().map(String::as_str))
            .collect();
        Xtask::try_parse_from(&full).map_err(|e| {
            format!(
                "`cargo xtask {shown}` (as `{}`): {}",
                argv.join(" "),
                e.render().to_string().trim()
            )
        })?;
    }
    Ok(())
}

/// Stands in for a value only known at run time; valid wherever free text is.
const PLACEHOLDER: &str = "runtime-value";

/// Concrete argvs: unknown words become a valid value for their flag, each `OneOf` is tried
/// value by value (the others held at their first value).
fn expand(args: &[Word], sub: &clap::Command) -> Vec<Vec<String>> {
    let first = |i: usize, w: &Word| -> String {
        match w {
            Word::Literal(s) => s.clone(),
            Word::OneOf(v) => v.first().cloned().unwrap_or_default(),
            Word::Unknown => valid_value_for(args, i, sub),
        }
    };
    let base: Vec<String> = args.iter().enumerate().map(|(i, w)| first(i, w)).collect();
    let mut out = vec![base.clone()];
    for (i, w) in args.iter().enumerate() {
        if let Word::OneOf(values) = w {
            for v in values.iter().skip(1) {
                let mut argv = base.clone();
                argv[i] = v.clone();
                out.push(argv);
            }
        }
    }
    out
}

/// For an unknown value: the first possible value of the flag before it, else free text.
fn valid_value_for(args: &[Word], i: usize, sub: &clap::Command) -> String {
    let flag = match i.checked_sub(1).and_then(|p| args.get(p)) {
        Some(Word::Literal(f)) => f.strip_prefix("--").map(str::to_string),
        _ => None,
    };
    flag.and_then(|f| {
        sub.get_arguments()
            .find(|a| a.get_long() == Some(f.as_str()))
            .cloned()
    })
    .and_then(|a| {
        a.get_possible_values()
            .first()
            .map(|p| p.get_name().to_string())
    })
    .unwrap_or_else(|| PLACEHOLDER.to_string())
}

fn show(args: &[Word]) -> String {
    args.iter()
        .map(|w| match w {
            Word::Literal(s) => s.clone(),
            Word::Unknown => "<runtime>".into(),
            Word::OneOf(v) => format!("<{}>", v.join("|")),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The values a `${{ matrix.KEY }}` can take in a job's (already resolved) matrix.
pub fn matrix_values(matrix: &Value, key: &str) -> Vec<String> {
    let mut values = Vec::new();
    let mut push = |v: &Value| {
        let s = match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        if !values.contains(&s) {
            values.push(s);
        }
    };
    if let Some(axis) = matrix.get(key).and_then(Value::as_array) {
        axis.iter().for_each(&mut push);
    }
    for entry in matrix
        .get("include")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(v) = entry.get(key) {
            push(v);
        }
    }
    values
}

/// Resolves variables for one step: step env, then job env, then workflow env; an env value
/// that is `${{ matrix.KEY }}` becomes every value of KEY.
pub fn resolver<'a>(
    envs: Vec<&'a BTreeMap<String, Value>>,
    matrix: Option<&'a Value>,
) -> impl Fn(&str) -> Word + 'a {
    move |name: &str| {
        let expr = |e: &str| -> Word {
            let inner = e
                .trim()
                .trim_start_matches("${{")
                .trim_end_matches("}}")
                .trim();
            match (inner.strip_prefix("matrix."), matrix) {
                (Some(key), Some(m)) => {
                    let values = matrix_values(m, key);
                    if values.is_empty() {
                        Word::Unknown
                    } else {
                        Word::OneOf(values)
                    }
                }
                _ => Word::Unknown,
            }
        };
        if name.starts_with("${{") {
            return expr(name);
        }
        for env in &envs {
            if let Some(v) = env.get(name) {
                return match v {
                    Value::String(s)
                        if s.trim_start().starts_with("${{") && s.trim_end().ends_with("}}") =>
                    {
                        expr(s)
                    }
                    Value::String(s) if s.contains("${{") => Word::Unknown,
                    Value::String(s) => Word::Literal(s.clone()),
                    other => Word::Literal(other.to_string()),
                };
            }
        }
        Word::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none(_: &str) -> Word {
        Word::Unknown
    }

    fn lit(words: &[&str]) -> Vec<Word> {
        words.iter().map(|w| Word::Literal(w.to_string())).collect()
    }

    #[test]
    fn finds_invocations_across_operators_and_continuations() {
        let script =
            "cargo xtask plan --json > plan.json\nfoo && cargo xtask check \\\n  dist # trailing\n";
        let found = xtask_invocations(script, &none);
        assert_eq!(
            found,
            vec![lit(&["plan", "--json"]), lit(&["check", "dist"])]
        );
    }

    #[test]
    fn variables_and_expressions_resolve() {
        let mut env = BTreeMap::new();
        env.insert(
            "TOOL".to_string(),
            Value::String("${{ matrix.tool }}".into()),
        );
        let matrix = serde_json::json!({"tool": ["pyinstaller", "nuitka"]});
        let vars = resolver(vec![&env], Some(&matrix));
        let found = xtask_invocations(
            "cargo xtask freeze-check --tool \"$TOOL\" --dist ${{ env.D }}",
            &vars,
        );
        assert_eq!(
            found,
            vec![vec![
                Word::Literal("freeze-check".into()),
                Word::Literal("--tool".into()),
                Word::OneOf(vec!["pyinstaller".into(), "nuitka".into()]),
                Word::Literal("--dist".into()),
                Word::Unknown,
            ]]
        );
        assert_eq!(check_invocation(&found[0], &[]), Ok(()));
    }

    #[test]
    fn unknown_subcommands_flags_and_values_are_reported() {
        let bad_sub = check_invocation(&lit(&["release"]), &[]).unwrap_err();
        assert!(bad_sub.contains("no subcommand `release`"), "{bad_sub}");
        let bad_flag = check_invocation(&lit(&["publish", "--yes"]), &[]).unwrap_err();
        assert!(bad_flag.contains("--yes"), "{bad_flag}");
        let bad_value = check_invocation(
            &[
                Word::Literal("freeze-check".into()),
                Word::Literal("--tool".into()),
                Word::OneOf(vec!["pyinstaller".into(), "py2exe".into()]),
            ],
            &[],
        )
        .unwrap_err();
        assert!(bad_value.contains("py2exe"), "{bad_value}");
        let missing_tag =
            check_invocation(&lit(&["github-release", "--dry-run"]), &[]).unwrap_err();
        assert!(missing_tag.contains("--tag"), "{missing_tag}");
        let bad_suite = check_invocation(&lit(&["test", "--only", "nope"]), &["lint"]).unwrap_err();
        assert!(
            bad_suite.contains("invalid value 'nope'") && bad_suite.contains("workflows"),
            "{bad_suite}"
        );
        assert_eq!(
            check_invocation(&lit(&["test", "--only", "lint"]), &["lint"]),
            Ok(())
        );
    }

    #[test]
    fn unknown_values_take_a_valid_value_for_their_flag() {
        let args = vec![
            Word::Literal("dist".into()),
            Word::Literal("--builder".into()),
            Word::Unknown,
        ];
        assert_eq!(check_invocation(&args, &[]), Ok(()));
    }
}
