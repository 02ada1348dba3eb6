//! SQL text and its bound values: [`Arg`], and a small builder with `$n` placeholders, which both databases accept.
use std::borrow::Cow;

/// Which database a statement is for, where the two differ (the panel's search index).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// A value to bind, in placeholder order.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg<'a> {
    Text(Cow<'a, str>),
    OptText(Option<Cow<'a, str>>),
    Int(i64),
    OptInt(Option<i64>),
    Bool(bool),
}

impl Arg<'_> {
    /// An owned copy, for a builder that outlives the borrowed value.
    pub fn into_owned(self) -> Arg<'static> {
        match self {
            Arg::Text(s) => Arg::Text(s.into_owned().into()),
            Arg::OptText(s) => Arg::OptText(s.map(|s| s.into_owned().into())),
            Arg::Int(i) => Arg::Int(i),
            Arg::OptInt(i) => Arg::OptInt(i),
            Arg::Bool(b) => Arg::Bool(b),
        }
    }
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(s: &'a str) -> Self {
        Arg::Text(Cow::Borrowed(s))
    }
}
impl<'a> From<&'a String> for Arg<'a> {
    fn from(s: &'a String) -> Self {
        Arg::Text(Cow::Borrowed(s))
    }
}
impl From<String> for Arg<'_> {
    fn from(s: String) -> Self {
        Arg::Text(Cow::Owned(s))
    }
}
impl<'a> From<&'a Option<String>> for Arg<'a> {
    fn from(s: &'a Option<String>) -> Self {
        Arg::OptText(s.as_deref().map(Cow::Borrowed))
    }
}
impl<'a> From<Option<&'a str>> for Arg<'a> {
    fn from(s: Option<&'a str>) -> Self {
        Arg::OptText(s.map(Cow::Borrowed))
    }
}
impl From<Option<String>> for Arg<'_> {
    fn from(s: Option<String>) -> Self {
        Arg::OptText(s.map(Cow::Owned))
    }
}
impl From<i64> for Arg<'_> {
    fn from(i: i64) -> Self {
        Arg::Int(i)
    }
}
impl From<Option<i64>> for Arg<'_> {
    fn from(i: Option<i64>) -> Self {
        Arg::OptInt(i)
    }
}
impl From<bool> for Arg<'_> {
    fn from(b: bool) -> Self {
        Arg::Bool(b)
    }
}

/// `args![a, b, c]`: the values to bind, each through `Arg::from`.
macro_rules! args {
    ($($a:expr),* $(,)?) => { [$($crate::store::sql::Arg::from($a)),*] };
}
pub(crate) use args;

/// SQL text and its bound values, built together so placeholders always match.
#[derive(Debug, Default)]
pub struct Sql {
    pub text: String,
    pub args: Vec<Arg<'static>>,
}

impl Sql {
    pub fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }

    /// Appends a placeholder for `value`.
    pub fn bind(&mut self, value: impl Into<Arg<'static>>) -> &mut Self {
        self.args.push(value.into());
        let n = self.args.len();
        self.text.push_str(&format!("${n}"));
        self
    }

    /// Appends `$k, $k+1, …` for each of `values`.
    pub fn bind_list<T: Into<Arg<'static>>>(&mut self, values: impl IntoIterator<Item = T>) -> &mut Self {
        for (i, v) in values.into_iter().enumerate() {
            if i > 0 {
                self.text.push_str(", ");
            }
            self.bind(v);
        }
        self
    }

    /// A row source of `values`, one column named `value`, from a single JSON array parameter: SQLite's `json_each`,
    /// PostgreSQL's `json_array_elements_text`. The statement's text is the same for any number of values (one cached
    /// statement, no limit on parameters), where a list of placeholders would differ with each length.
    pub fn bind_rows<'v>(&mut self, dialect: Dialect, values: impl IntoIterator<Item = &'v str>) -> &mut Self {
        let json = serde_json::Value::from(values.into_iter().collect::<Vec<_>>()).to_string();
        match dialect {
            Dialect::Sqlite => self.push("json_each(").bind(json).push(")"),
            Dialect::Postgres => self.push("json_array_elements_text(").bind(json).push("::json) as rows (value)"),
        }
    }

    /// ` limit $n offset $m` for a 1-based SCIM page.
    pub fn page(&mut self, start_index: i64, count: i64) -> &mut Self {
        let (count, offset) = limit(start_index, count);
        self.push(" limit ").bind(count).push(" offset ").bind(offset)
    }
}

/// Statements that run together. On a connection sqlx runs on SQLite they are joined into one call, separated by `;`,
/// their placeholders numbered on from one to the next: every call there is a trip to sqlx's worker thread and back.
/// The SQLite writer's direct connection, which has no trips, and PostgreSQL take one statement at a time.
#[derive(Debug)]
pub struct Script {
    join: bool,
    pub statements: Vec<Sql>,
}

/// SQLite allows 32,766 parameters per statement; a joined script starts a new call well before that.
const MAX_JOINED_ARGS: usize = 20_000;

impl Script {
    /// Statements joined into one call where that saves trips: on a SQLite connection sqlx runs (`join`).
    pub fn new(join: bool) -> Script {
        Script { join, statements: Vec::new() }
    }

    /// Starts the next statement, to be written with `push` and `bind`.
    pub fn statement(&mut self) -> &mut Sql {
        let join =
            self.join && self.statements.last().is_some_and(|s| !s.text.is_empty() && s.args.len() < MAX_JOINED_ARGS);
        if !join {
            self.statements.push(Sql::default());
        }
        let n = self.statements.len();
        let s = &mut self.statements[n - 1];
        if join {
            s.push("; ");
        }
        s
    }
}

/// `(count, offset)` of a 1-based page.
pub fn limit(start_index: i64, count: i64) -> (i64, i64) {
    (count.max(0), (start_index.max(1) - 1).max(0))
}

/// A `LIKE` pattern matching `term` anywhere, with `%`, `_` and `\` taken literally (used with `escape '\'`).
pub fn contains_pattern(term: &str) -> String {
    format!("%{}%", like_escape(term))
}

pub fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}
