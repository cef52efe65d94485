"""A small SOQL subset: tokenizer, recursive-descent parser, evaluator.

Supported::

    SELECT f1, f2, Rel.f3 | COUNT() | COUNT(f) FROM Obj
      [WHERE cond] [ORDER BY f [ASC|DESC] [NULLS FIRST|LAST], ...] [LIMIT n] [OFFSET n]

    cond  := term (AND term)* | term (OR term)*   -- mixing AND/OR needs parentheses, as in SOQL
    term  := NOT term | '(' cond ')' | f op literal | f [NOT] IN (literal, ...) | f LIKE 'pat'
    op    := = != <> < <= > >=

Literals are typed like Salesforce types them: quoted strings, numbers,
true/false, null, dates ``2026-01-01``, datetimes ``2026-01-01T00:00:00Z`` /
``2026-01-01T00:00:00.000+0000`` (compared as instants), and TODAY, YESTERDAY,
TOMORROW, LAST_N_DAYS:n, NEXT_N_DAYS:n. A literal of the wrong type for its
field is refused with INVALID_FIELD, as a real org does; ``=``/LIKE on text are
case-insensitive and ``!=`` matches nulls, as in SOQL. Field and object names
are case-insensitive; results use the canonical names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field as dc_field
from datetime import date, datetime, time, timedelta, timezone

from .errors import ApiError
from .values import NUMBER_TYPES, TEXT_TYPES, parse_datetime

_TOKEN = re.compile(r"""
  (?P<ws>\s+)
| (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:?\d{2}))
| (?P<date>\d{4}-\d{2}-\d{2})
| (?P<number>[+-]?\d+(?:\.\d+)?)
| (?P<string>'(?:[^'\\]|\\.)*')
| (?P<op><=|>=|!=|<>|=|<|>)
| (?P<punct>[(),.:])
| (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
""", re.X)

KEYWORDS = {"SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDER", "BY", "ASC", "DESC",
            "NULLS", "FIRST", "LAST", "LIMIT", "OFFSET", "NULL", "TRUE", "FALSE", "GROUP", "HAVING",
            "WITH", "FOR", "USING", "INCLUDES", "EXCLUDES", "TYPEOF"}
DATE_LITERALS = {"TODAY", "YESTERDAY", "TOMORROW", "LAST_N_DAYS", "NEXT_N_DAYS"}
_UNESCAPE = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "'": "'", '"': '"', "\\": "\\"}


@dataclass
class Token:
    kind: str
    text: str
    pos: int

    @property
    def upper(self) -> str:
        return self.text.upper()


@dataclass
class Literal:
    kind: str  # string number bool null date datetime range
    value: object
    pos: int


@dataclass
class Path:
    """A selected or filtered field: ``Name`` or ``Owner.Name``."""
    text: str
    pos: int
    field: object = None  # FieldDef on the queried object (the lookup for a relationship)
    rel: object = None    # FieldDef on the parent, for relationship paths
    rel_name: str = ""
    name: str = ""        # canonical dotted name

    @property
    def leaf(self):
        return self.rel or self.field


@dataclass
class Query:
    text: str
    sobject: object = None
    fields: list = dc_field(default_factory=list)
    count: str | None = None  # "rows" for COUNT(), "field" for COUNT(f)
    where: object = None
    order: list = dc_field(default_factory=list)
    limit: int | None = None
    offset: int = 0


def _error(query: str, pos: int, code: str, detail: str) -> ApiError:
    return ApiError(400, code, f"\n{query}\n{' ' * pos}^\nERROR at Row:1:Column:{pos + 1}\n{detail}")


def tokenize(query: str) -> list:
    tokens, pos = [], 0
    while pos < len(query):
        m = _TOKEN.match(query, pos)
        if not m:
            raise _error(query, pos, "MALFORMED_QUERY", f"unexpected token: '{query[pos]}'")
        kind = m.lastgroup
        if kind != "ws":
            tokens.append(Token(kind, m.group(), pos))
        pos = m.end()
    tokens.append(Token("eof", "<EOF>", len(query)))
    return tokens


class Parser:
    def __init__(self, query: str, org):
        self.q = query
        self.org = org
        self.toks = tokenize(query)
        self.i = 0

    # ----- token helpers -----
    @property
    def tok(self) -> Token:
        return self.toks[self.i]

    def _unexpected(self, tok=None) -> ApiError:
        tok = tok or self.tok
        return _error(self.q, tok.pos, "MALFORMED_QUERY", f"unexpected token: '{tok.text}'")

    def kw(self, *words) -> bool:
        return self.tok.kind == "ident" and self.tok.upper in words

    def take_kw(self, word: str) -> Token:
        if not self.kw(word):
            raise self._unexpected()
        return self._advance()

    def take(self, text: str) -> Token:
        if self.tok.text != text:
            raise self._unexpected()
        return self._advance()

    def _advance(self) -> Token:
        tok = self.tok
        self.i += 1
        return tok

    def ident(self, any_word: bool = False) -> Token:
        """A name; ``any_word`` admits reserved words (``FROM Group`` is valid SOQL)."""
        if self.tok.kind != "ident" or (self.tok.upper in KEYWORDS and not any_word):
            raise self._unexpected()
        return self._advance()

    # ----- grammar -----
    def parse(self) -> Query:
        q = Query(self.q)
        self.take_kw("SELECT")
        raw_fields = self._select_list(q)
        self.take_kw("FROM")
        obj_tok = self.ident(any_word=True)
        q.sobject = self.org.object(obj_tok.text)
        if q.sobject is None:
            raise _error(self.q, obj_tok.pos, "INVALID_TYPE",
                         f"sObject type '{obj_tok.text}' is not supported. If you are attempting to use a custom "
                         "object, be sure to append the '__c' after the entity name. Please reference your WSDL "
                         "or the describe call for the appropriate names.")
        seen = set()
        for p in raw_fields:
            self._resolve(q.sobject, p)
            if p.name.lower() not in seen:
                seen.add(p.name.lower())
                q.fields.append(p)
        if self.kw("WHERE"):
            self._advance()
            q.where = self._condition(q.sobject)
        if self.kw("GROUP", "HAVING", "WITH", "FOR", "USING"):
            raise _error(self.q, self.tok.pos, "MALFORMED_QUERY", f"sf_emulator does not support {self.tok.upper}")
        if self.kw("ORDER"):
            self._advance()
            self.take_kw("BY")
            while True:
                p = self._path()
                self._resolve(q.sobject, p)
                desc = False
                if self.kw("ASC", "DESC"):
                    desc = self._advance().upper == "DESC"
                nulls_first = not desc
                if self.kw("NULLS"):
                    self._advance()
                    if not self.kw("FIRST", "LAST"):
                        raise self._unexpected()
                    nulls_first = self._advance().upper == "FIRST"
                q.order.append((p, desc, nulls_first))
                if self.tok.text != ",":
                    break
                self._advance()
        if self.kw("LIMIT"):
            self._advance()
            q.limit = self._int()
        if self.kw("OFFSET"):
            self._advance()
            q.offset = self._int()
        if self.tok.kind != "eof":
            raise self._unexpected()
        return q

    def _int(self) -> int:
        if self.tok.kind != "number" or not self.tok.text.isdigit():
            raise self._unexpected()
        return int(self._advance().text)

    def _select_list(self, q: Query) -> list:
        if self.kw("COUNT") and self.toks[self.i + 1].text == "(":
            self._advance()
            self.take("(")
            if self.tok.text == ")":
                self._advance()
                q.count = "rows"
                return []
            p = self._path()
            self.take(")")
            q.count = "field"
            return [p]
        if self.tok.text == "(" or self.kw("TYPEOF"):
            raise _error(self.q, self.tok.pos, "MALFORMED_QUERY", "sf_emulator does not support subqueries or TYPEOF")
        fields = [self._path()]
        while self.tok.text == ",":
            self._advance()
            fields.append(self._path())
        return fields

    def _path(self) -> Path:
        first = self.ident()
        parts = [first.text]
        while self.tok.text == ".":
            self._advance()
            parts.append(self.ident().text)
        if self.tok.text == "(":
            raise _error(self.q, first.pos, "MALFORMED_QUERY", f"sf_emulator does not support function {first.text}()")
        return Path(".".join(parts), first.pos)

    def _no_field(self, obj, name: str, pos: int) -> ApiError:
        return _error(self.q, pos, "INVALID_FIELD",
                      f"No such column '{name}' on entity '{obj.name}'. If you are attempting to use a custom "
                      "field, be sure to append the '__c' after the custom field name. Please reference your "
                      "WSDL or the describe call for the appropriate names.")

    def _resolve(self, obj, p: Path) -> None:
        parts = p.text.split(".")
        if len(parts) == 2 and parts[0].lower() == obj.name.lower():
            parts = parts[1:]  # "Lead.Name" on Lead
        if len(parts) == 1:
            p.field = obj.field(parts[0])
            if p.field is None:
                raise self._no_field(obj, parts[0], p.pos)
            p.name = p.field.name
            return
        if len(parts) > 2:
            raise _error(self.q, p.pos, "MALFORMED_QUERY", "sf_emulator supports one level of relationship")
        p.field = obj.relationship(parts[0])
        if p.field is None:
            raise _error(self.q, p.pos, "INVALID_FIELD",
                         f"Didn't understand relationship '{parts[0]}' in field path. If you are attempting to use "
                         "a custom relationship, be sure to append the '__r' after the custom relationship name. "
                         "Please reference your WSDL or the describe call for the appropriate names.")
        for target in p.field.reference_to:
            parent = self.org.object(target)
            if parent is not None and parent.field(parts[1]) is not None:
                p.rel = parent.field(parts[1])
                break
        if p.rel is None:
            raise self._no_field(self.org.object(p.field.reference_to[0]) or obj, parts[1], p.pos)
        p.rel_name = p.field.relationship_name
        p.name = f"{p.rel_name}.{p.rel.name}"

    def _condition(self, obj):
        items = [self._term(obj)]
        joiner = None
        while self.kw("AND", "OR"):
            word = self.tok.upper
            if joiner and word != joiner:
                raise self._unexpected()
            joiner = word
            self._advance()
            items.append(self._term(obj))
        if len(items) == 1:
            return items[0]
        return ("and" if joiner == "AND" else "or", items)

    def _term(self, obj):
        if self.kw("NOT"):
            self._advance()
            return ("not", self._term(obj))
        if self.tok.text == "(":
            self._advance()
            node = self._condition(obj)
            self.take(")")
            return node
        p = self._path()
        self._resolve(obj, p)
        if self.kw("NOT") and self.toks[self.i + 1].upper == "IN":
            self._advance()
            self._advance()
            return ("notin", p, self._list(p))
        if self.kw("IN"):
            self._advance()
            return ("in", p, self._list(p))
        if self.kw("LIKE"):
            like = self._advance()
            lit = self._literal()
            if p.leaf.type not in TEXT_TYPES or lit.kind != "string":
                raise _error(self.q, like.pos, "INVALID_FIELD", f"invalid operator on {p.leaf.type} field: LIKE")
            return ("like", p, _like_regex(lit.value))
        if self.tok.kind != "op":
            raise self._unexpected()
        op = self._advance().text
        lit = self._literal()
        self._check_type(p, lit)
        if lit.kind == "null" and op not in ("=", "!=", "<>"):
            raise _error(self.q, lit.pos, "MALFORMED_QUERY", f"invalid operator for null: {op}")
        return ("cmp", p, "!=" if op == "<>" else op, lit)

    def _list(self, p: Path) -> list:
        self.take("(")
        lits = [self._literal()]
        while self.tok.text == ",":
            self._advance()
            lits.append(self._literal())
        self.take(")")
        for lit in lits:
            self._check_type(p, lit)
        return lits

    def _literal(self) -> Literal:
        tok = self.tok
        if tok.kind == "string":
            self._advance()
            return Literal("string", _unescape(tok.text[1:-1]), tok.pos)
        if tok.kind == "number":
            self._advance()
            return Literal("number", float(tok.text), tok.pos)
        if tok.kind == "datetime":
            self._advance()
            return Literal("datetime", parse_datetime(tok.text), tok.pos)
        if tok.kind == "date":
            self._advance()
            return Literal("date", date.fromisoformat(tok.text).isoformat(), tok.pos)
        if tok.kind == "ident":
            word = tok.upper
            if word in ("TRUE", "FALSE"):
                self._advance()
                return Literal("bool", word == "TRUE", tok.pos)
            if word == "NULL":
                self._advance()
                return Literal("null", None, tok.pos)
            if word in DATE_LITERALS:
                self._advance()
                n = None
                if word.endswith("_N_DAYS"):
                    self.take(":")
                    n = self._int()
                return Literal("range", (word, n), tok.pos)
        raise self._unexpected()

    def _check_type(self, p: Path, lit: Literal) -> None:
        f = p.leaf
        if lit.kind == "null":
            return
        t = f.type
        if t in TEXT_TYPES:
            ok, want = lit.kind == "string", "string and should be enclosed in quotes"
        elif t == "boolean":
            ok, want = lit.kind == "bool", "boolean and should not be enclosed in quotes"
        elif t in NUMBER_TYPES:
            ok, want = lit.kind == "number", f"{'integer' if t == 'int' else 'double'} and should not be enclosed in quotes"
        elif t == "date":
            ok, want = lit.kind in ("date", "range"), "date and should not be enclosed in quotes"
        elif t == "datetime":
            ok, want = lit.kind in ("datetime", "range"), "dateTime and should not be enclosed in quotes"
        else:
            ok, want = True, ""
        if not ok:
            raise _error(self.q, lit.pos, "INVALID_FIELD",
                         f"value of filter criterion for field '{f.name}' must be of type {want}")


def _unescape(text: str) -> str:
    out, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            out.append("\\" + nxt if nxt in "%_" else _UNESCAPE.get(nxt, nxt))
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _like_regex(pattern: str):
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    return re.compile("^" + "".join(out) + "$", re.I | re.S)


def parse(query: str, org) -> Query:
    return Parser(query, org).parse()


# ----- evaluation -----

def value_of(org, rec: dict, p: Path):
    if p.rel is None:
        return rec.get(p.field.name)
    _, parent = org.find(rec.get(p.field.name) or "")
    if parent is None:
        return None
    return parent.get(p.rel.name)


def _key(f, v):
    """Comparable form of a stored value or literal for field ``f``."""
    if v is None:
        return None
    t = f.type
    if t in ("id", "reference"):
        return v
    if t in TEXT_TYPES:
        return str(v).casefold()
    if t == "datetime":
        return v if isinstance(v, datetime) else parse_datetime(v)
    if t in NUMBER_TYPES:
        return float(v)
    return v


def _range(org, f, spec):
    word, n = spec
    today = org.today()
    start, days = {"TODAY": (today, 1), "YESTERDAY": (today - timedelta(days=1), 1),
                   "TOMORROW": (today + timedelta(days=1), 1)}.get(word, (None, None))
    if word == "LAST_N_DAYS":
        start, days = today - timedelta(days=n), n + 1
    elif word == "NEXT_N_DAYS":
        start, days = today + timedelta(days=1), n
    end = start + timedelta(days=days)
    if f.type == "datetime":
        return (datetime.combine(start, time(), timezone.utc), datetime.combine(end, time(), timezone.utc))
    return start.isoformat(), end.isoformat()


def _compare(org, f, v, op, lit) -> bool:
    if lit.kind == "null":
        return (v is None) if op == "=" else (v is not None)
    if lit.kind == "range":
        if v is None:
            return op == "!="
        start, end = _range(org, f, lit.value)
        k = _key(f, v)
        return {"=": start <= k < end, "!=": not (start <= k < end), "<": k < start,
                "<=": k < end, ">": k >= end, ">=": k >= start}[op]
    if v is None:
        return op == "!="
    a, b = _key(f, v), _key(f, lit.value)
    if f.type in ("id", "reference") and len(b) == 15 and len(a) == 18:
        a = a[:15]  # a 15-character id literal matches its 18-character form
    return {"=": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


def matches(org, node, rec: dict) -> bool:
    kind = node[0]
    if kind == "and":
        return all(matches(org, n, rec) for n in node[1])
    if kind == "or":
        return any(matches(org, n, rec) for n in node[1])
    if kind == "not":
        return not matches(org, node[1], rec)
    p = node[1]
    v = value_of(org, rec, p)
    if kind == "cmp":
        return _compare(org, p.leaf, v, node[2], node[3])
    if kind in ("in", "notin"):
        hit = any(_compare(org, p.leaf, v, "=", lit) for lit in node[2])
        return hit if kind == "in" else not hit
    if kind == "like":
        return v is not None and bool(node[2].match(str(v)))
    raise AssertionError(kind)


def execute(org, query: Query, include_deleted: bool = False) -> list:
    """Matching stored records (not yet shaped for output), ordered and limited."""
    rows = [r for r in org.records[query.sobject.name].values()
            if (include_deleted or not r.get("IsDeleted"))
            and (query.where is None or matches(org, query.where, r))]
    for p, desc, nulls_first in reversed(query.order):
        null_rank = 0 if nulls_first != desc else 1

        def sort_key(r, p=p, null_rank=null_rank):
            k = _key(p.leaf, value_of(org, r, p))
            return (null_rank, 0) if k is None else (1 - null_rank, k)

        rows.sort(key=sort_key, reverse=desc)
    rows = rows[query.offset:]
    if query.limit is not None:
        rows = rows[:query.limit]
    return rows


def shape(org, query: Query, rec: dict, version: str) -> dict:
    """A record as the REST query resource returns it."""
    obj = query.sobject
    out = {"attributes": {"type": obj.name, "url": f"/services/data/v{version}/sobjects/{obj.name}/{rec['Id']}"}}
    for p in query.fields:
        if p.rel is None:
            out[p.field.name] = rec.get(p.field.name)
            continue
        parent_obj, parent = org.find(rec.get(p.field.name) or "")
        if parent is None:
            out[p.rel_name] = None
            continue
        nested = out.get(p.rel_name)
        if nested is None:
            nested = out[p.rel_name] = {"attributes": {
                "type": parent_obj.name,
                "url": f"/services/data/v{version}/sobjects/{parent_obj.name}/{parent['Id']}"}}
        nested[p.rel.name] = parent.get(p.rel.name) if parent_obj.field(p.rel.name) else None
    return out
