//! A small GraphQL document parser: operations, selection sets, arguments, variables, aliases,
//! inline fragments, named fragments and `@include`/`@skip`. Enough to read what a client sends;
//! there is no schema here (the resolvers reject unknown fields).

use serde_json::{Map, Value};
use std::collections::HashMap;

/// A literal or variable in argument position.
#[derive(Clone, Debug, PartialEq)]
pub enum AstValue {
    /// `$name`.
    Var(String),
    /// Any literal, already as JSON (enums become strings).
    Lit(Value),
    /// `[ ... ]` possibly holding variables.
    List(Vec<AstValue>),
    /// `{ k: v }` possibly holding variables.
    Object(Vec<(String, AstValue)>),
}

impl AstValue {
    /// Resolves variables.
    pub fn eval(&self, vars: &Map<String, Value>) -> Value {
        match self {
            AstValue::Var(name) => vars.get(name).cloned().unwrap_or(Value::Null),
            AstValue::Lit(v) => v.clone(),
            AstValue::List(items) => Value::Array(items.iter().map(|i| i.eval(vars)).collect()),
            AstValue::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, v)| (k.clone(), v.eval(vars)))
                    .collect(),
            ),
        }
    }
}

/// A field selection.
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    /// The response key, if aliased.
    pub alias: Option<String>,
    /// The field name.
    pub name: String,
    /// Arguments, in order.
    pub args: Vec<(String, AstValue)>,
    /// Sub-selection (empty for scalars).
    pub selection: Vec<Selection>,
    /// `@include`/`@skip` conditions: (`true` for include, value).
    pub conditions: Vec<(bool, AstValue)>,
}

impl Field {
    /// The key of this field in the response.
    pub fn key(&self) -> &str {
        self.alias.as_deref().unwrap_or(&self.name)
    }

    /// An argument, with variables resolved.
    pub fn arg(&self, name: &str, vars: &Map<String, Value>) -> Option<Value> {
        self.args
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.eval(vars))
            .filter(|v| !v.is_null())
    }
}

/// One item of a selection set.
#[derive(Clone, Debug, PartialEq)]
pub enum Selection {
    /// A field.
    Field(Field),
    /// `... on Type { }` (or `... { }` with no type condition).
    Inline(Option<String>, Vec<Selection>, Vec<(bool, AstValue)>),
    /// `...Name`.
    Spread(String, Vec<(bool, AstValue)>),
}

/// A parsed document: the operation to run and the fragments it may use.
#[derive(Clone, Debug, Default)]
pub struct Document {
    /// `query`, `mutation` or `subscription`.
    pub kind: String,
    /// The operation's name, if any.
    pub name: Option<String>,
    /// Its top-level selection.
    pub selection: Vec<Selection>,
    /// Default values of variables.
    pub defaults: Map<String, Value>,
    /// Named fragments: (type condition, selection).
    pub fragments: HashMap<String, (String, Vec<Selection>)>,
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Punct(char),
    Spread,
    Name(String),
    Int(i64),
    Float(f64),
    Str(String),
}

fn lex(src: &str) -> Result<Vec<(Tok, usize)>, String> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        match c {
            ' ' | '\t' | '\n' | '\r' | ',' | '\u{feff}' => i += 1,
            '#' => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '{' | '}' | '(' | ')' | '[' | ']' | ':' | '!' | '$' | '=' | '@' | '|' | '&' => {
                out.push((Tok::Punct(c), start));
                i += 1;
            }
            '.' => {
                if chars.get(i + 1) == Some(&'.') && chars.get(i + 2) == Some(&'.') {
                    out.push((Tok::Spread, start));
                    i += 3;
                } else {
                    return Err(format!("syntax error, unexpected '.' at offset {start}"));
                }
            }
            '"' => {
                if chars.get(i + 1) == Some(&'"') && chars.get(i + 2) == Some(&'"') {
                    i += 3;
                    let mut s = String::new();
                    loop {
                        if i >= chars.len() {
                            return Err("syntax error, unterminated block string".into());
                        }
                        if chars.get(i) == Some(&'"')
                            && chars.get(i + 1) == Some(&'"')
                            && chars.get(i + 2) == Some(&'"')
                        {
                            i += 3;
                            break;
                        }
                        s.push(chars[i]);
                        i += 1;
                    }
                    out.push((Tok::Str(s.trim().to_string()), start));
                } else {
                    i += 1;
                    let mut s = String::new();
                    loop {
                        let Some(&ch) = chars.get(i) else {
                            return Err("syntax error, unterminated string".into());
                        };
                        i += 1;
                        match ch {
                            '"' => break,
                            '\\' => {
                                let esc = chars.get(i).copied().unwrap_or(' ');
                                i += 1;
                                match esc {
                                    'n' => s.push('\n'),
                                    't' => s.push('\t'),
                                    'r' => s.push('\r'),
                                    'b' => s.push('\u{8}'),
                                    'f' => s.push('\u{c}'),
                                    'u' => {
                                        let hex: String = chars.iter().skip(i).take(4).collect();
                                        i += 4;
                                        let code = u32::from_str_radix(&hex, 16)
                                            .map_err(|_| "syntax error, bad \\u escape")?;
                                        s.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                                    }
                                    other => s.push(other),
                                }
                            }
                            other => s.push(other),
                        }
                    }
                    out.push((Tok::Str(s), start));
                }
            }
            c if c == '-' || c.is_ascii_digit() => {
                i += 1;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric() || matches!(chars[i], '.' | '+' | '-'))
                {
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                if let Ok(n) = text.parse::<i64>() {
                    out.push((Tok::Int(n), start));
                } else if let Ok(f) = text.parse::<f64>() {
                    out.push((Tok::Float(f), start));
                } else {
                    return Err(format!("syntax error, bad number {text}"));
                }
            }
            c if c == '_' || c.is_ascii_alphabetic() => {
                while i < chars.len() && (chars[i] == '_' || chars[i].is_ascii_alphanumeric()) {
                    i += 1;
                }
                out.push((Tok::Name(chars[start..i].iter().collect()), start));
            }
            other => return Err(format!("syntax error, unexpected character '{other}'")),
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<(Tok, usize)>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(t, _)| t)
    }

    fn next(&mut self) -> Result<Tok, String> {
        let t = self
            .toks
            .get(self.pos)
            .map(|(t, _)| t.clone())
            .ok_or("syntax error, unexpected end of file")?;
        self.pos += 1;
        Ok(t)
    }

    fn is(&self, c: char) -> bool {
        self.peek() == Some(&Tok::Punct(c))
    }

    fn eat(&mut self, c: char) -> bool {
        if self.is(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: char) -> Result<(), String> {
        match self.next()? {
            Tok::Punct(p) if p == c => Ok(()),
            other => Err(format!(
                "syntax error, expected '{c}', found {}",
                describe(&other)
            )),
        }
    }

    fn name(&mut self) -> Result<String, String> {
        match self.next()? {
            Tok::Name(n) => Ok(n),
            other => Err(format!(
                "syntax error, expected a name, found {}",
                describe(&other)
            )),
        }
    }

    fn value(&mut self, constant: bool) -> Result<AstValue, String> {
        Ok(match self.next()? {
            Tok::Punct('$') if !constant => AstValue::Var(self.name()?),
            Tok::Int(n) => AstValue::Lit(Value::from(n)),
            Tok::Float(f) => AstValue::Lit(Value::from(f)),
            Tok::Str(s) => AstValue::Lit(Value::String(s)),
            Tok::Name(n) => AstValue::Lit(match n.as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                "null" => Value::Null,
                _ => Value::String(n),
            }),
            Tok::Punct('[') => {
                let mut items = Vec::new();
                while !self.eat(']') {
                    items.push(self.value(constant)?);
                }
                AstValue::List(items)
            }
            Tok::Punct('{') => {
                let mut fields = Vec::new();
                while !self.eat('}') {
                    let k = self.name()?;
                    self.expect(':')?;
                    fields.push((k, self.value(constant)?));
                }
                AstValue::Object(fields)
            }
            other => return Err(format!("syntax error, unexpected {}", describe(&other))),
        })
    }

    fn arguments(&mut self) -> Result<Vec<(String, AstValue)>, String> {
        let mut args = Vec::new();
        if self.eat('(') {
            while !self.eat(')') {
                let k = self.name()?;
                self.expect(':')?;
                args.push((k, self.value(false)?));
            }
        }
        Ok(args)
    }

    fn directives(&mut self) -> Result<Vec<(bool, AstValue)>, String> {
        let mut out = Vec::new();
        while self.eat('@') {
            let name = self.name()?;
            let args = self.arguments()?;
            let cond = args.into_iter().find(|(k, _)| k == "if").map(|(_, v)| v);
            match (name.as_str(), cond) {
                ("include", Some(v)) => out.push((true, v)),
                ("skip", Some(v)) => out.push((false, v)),
                _ => {}
            }
        }
        Ok(out)
    }

    fn selection_set(&mut self) -> Result<Vec<Selection>, String> {
        self.expect('{')?;
        let mut out = Vec::new();
        while !self.eat('}') {
            if self.peek() == Some(&Tok::Spread) {
                self.pos += 1;
                match self.peek() {
                    Some(Tok::Name(n)) if n == "on" => {
                        self.pos += 1;
                        let ty = self.name()?;
                        let dirs = self.directives()?;
                        out.push(Selection::Inline(Some(ty), self.selection_set()?, dirs));
                    }
                    Some(Tok::Name(_)) => {
                        let name = self.name()?;
                        let dirs = self.directives()?;
                        out.push(Selection::Spread(name, dirs));
                    }
                    _ => {
                        let dirs = self.directives()?;
                        out.push(Selection::Inline(None, self.selection_set()?, dirs));
                    }
                }
                continue;
            }
            let first = self.name()?;
            let (alias, name) = if self.eat(':') {
                (Some(first), self.name()?)
            } else {
                (None, first)
            };
            let args = self.arguments()?;
            let conditions = self.directives()?;
            let selection = if self.is('{') {
                self.selection_set()?
            } else {
                Vec::new()
            };
            out.push(Selection::Field(Field {
                alias,
                name,
                args,
                selection,
                conditions,
            }));
        }
        Ok(out)
    }

    fn skip_type(&mut self) -> Result<(), String> {
        if self.eat('[') {
            self.skip_type()?;
            self.expect(']')?;
        } else {
            self.name()?;
        }
        self.eat('!');
        Ok(())
    }
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Punct(c) => format!("'{c}'"),
        Tok::Spread => "'...'".into(),
        Tok::Name(n) => format!("'{n}'"),
        Tok::Int(n) => n.to_string(),
        Tok::Float(f) => f.to_string(),
        Tok::Str(_) => "a string".into(),
    }
}

/// The deepest nesting of braces, brackets and parentheses accepted (the parser recurses).
const MAX_DEPTH: i64 = 100;

/// Parses a document and picks the operation named `operation` (or the first one).
pub fn parse(src: &str, operation: Option<&str>) -> Result<Document, String> {
    let toks = lex(src)?;
    let mut depth: i64 = 0;
    for (t, _) in &toks {
        match t {
            Tok::Punct('{' | '[' | '(') => depth += 1,
            Tok::Punct('}' | ']' | ')') => depth -= 1,
            _ => {}
        }
        if depth > MAX_DEPTH {
            return Err("syntax error, the document is nested too deeply".into());
        }
    }
    let mut p = Parser { toks, pos: 0 };
    let mut ops: Vec<Document> = Vec::new();
    let mut fragments = HashMap::new();
    while p.peek().is_some() {
        if p.is('{') {
            ops.push(Document {
                kind: "query".into(),
                selection: p.selection_set()?,
                ..Document::default()
            });
            continue;
        }
        let word = p.name()?;
        match word.as_str() {
            "query" | "mutation" | "subscription" => {
                let name = match p.peek() {
                    Some(Tok::Name(_)) => Some(p.name()?),
                    _ => None,
                };
                let mut defaults = Map::new();
                if p.eat('(') {
                    while !p.eat(')') {
                        p.expect('$')?;
                        let var = p.name()?;
                        p.expect(':')?;
                        p.skip_type()?;
                        if p.eat('=') {
                            defaults.insert(var, p.value(true)?.eval(&Map::new()));
                        }
                        p.directives()?;
                    }
                }
                p.directives()?;
                let selection = p.selection_set()?;
                ops.push(Document {
                    kind: word,
                    name,
                    selection,
                    defaults,
                    fragments: HashMap::new(),
                });
            }
            "fragment" => {
                let name = p.name()?;
                if p.name()? != "on" {
                    return Err("syntax error, expected 'on'".into());
                }
                let ty = p.name()?;
                p.directives()?;
                fragments.insert(name, (ty, p.selection_set()?));
            }
            other => return Err(format!("syntax error, unexpected '{other}'")),
        }
    }
    let mut doc = match operation {
        Some(name) => ops
            .into_iter()
            .find(|d| d.name.as_deref() == Some(name))
            .ok_or_else(|| format!("No operation named \"{name}\""))?,
        None => ops
            .into_iter()
            .next()
            .ok_or("syntax error, the document holds no operation")?,
    };
    doc.fragments = fragments;
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_operations_fragments_and_arguments() {
        let doc = parse(
            "mutation run($query: String!, $n: Int = 3) { x: bulkOperationRunQuery(query: $query, groupObjects: true) \
             { bulkOperation { id ...F } userErrors { field } } } fragment F on BulkOperation { status }",
            None,
        )
        .unwrap();
        assert_eq!(doc.kind, "mutation");
        assert_eq!(doc.defaults["n"], 3);
        let Selection::Field(f) = &doc.selection[0] else {
            panic!()
        };
        assert_eq!(f.key(), "x");
        assert_eq!(f.name, "bulkOperationRunQuery");
        let vars: Map<String, Value> =
            serde_json::from_str(r#"{"query":"{ products { edges { node { id } } } }"}"#).unwrap();
        assert_eq!(f.arg("query", &vars).unwrap(), vars["query"]);
        assert_eq!(f.arg("groupObjects", &vars).unwrap(), true);
        assert!(doc.fragments.contains_key("F"));
    }

    #[test]
    fn strings_and_errors() {
        let doc = parse("{ a(s: \"x\\\"y\\u0041\", l: [1, 2.5, ENUM]) }", None).unwrap();
        let Selection::Field(f) = &doc.selection[0] else {
            panic!()
        };
        assert_eq!(f.arg("s", &Map::new()).unwrap(), "x\"yA");
        assert_eq!(
            f.arg("l", &Map::new()).unwrap(),
            serde_json::json!([1, 2.5, "ENUM"])
        );
        assert!(parse("{ a { b }", None).is_err());
        assert!(parse("query { ", None).is_err());
        assert!(parse("", None).is_err());
        assert!(parse(&"{ a ".repeat(5000), None).is_err());
    }
}
