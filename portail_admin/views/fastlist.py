"""Lists that stay fast at millions of rows: bounded count, keyset pages past a capped OFFSET, prefix search."""
import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from flask import current_app, flash, g, request
from sqlalchemy import and_, func, literal_column, or_
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import joinedload
from sqlalchemy.sql.expression import ClauseElement, Executable

from ..extensions import db
from ..formatting import NBSP
from ..services.prefixes import starts_with

#: Rows counted at most: below, the count is exact; above, the list says "plus de N".
COUNT_CAP = 10_000
#: Deepest row reachable by page number (OFFSET, 100 pages of 20); further pages go on with keyset links.
#: PostgreSQL's OFFSET visits the table for each skipped row: 2 000 rows cost ~2 ms, 10 000 ~25 ms at 1M rows.
OFFSET_CAP = 2_000
#: Under a range filter, at most this many matches (PostgreSQL's estimate) are sorted rather than met by walking
#: the sort index: a range's matches sit together along that index, possibly at its far end.
SORT_CAP = 200_000
#: Query-string arguments of the pager, kept out of Flask-Admin's extra_args so that a new sort,
#: search or filter starts again from the top.
CURSOR_ARGS = ("apres", "avant", "date")


def nombre_fr(n: int) -> str:
    """1234567 -> "1 234 567" (non-breaking spaces)."""
    return f"{n:,}".replace(",", NBSP)


def encode_cursor(values) -> str:
    """A row's sort key as an opaque URL-safe token."""
    raw = json.dumps([_jsonable(v) for v in values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str) -> list:
    """The raw JSON values of a cursor token; ValueError when it is not one."""
    try:
        values = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(token) from exc
    if not isinstance(values, list):
        raise ValueError(token)
    return values


def _jsonable(value):
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _from_json(column, value):
    """A cursor value back into the column's Python type; ValueError if it does not fit."""
    if value is None:
        raise ValueError("valeur vide")
    try:
        kind = column.type.python_type
    except NotImplementedError:
        kind = str
    try:
        if kind is dt.datetime:
            return dt.datetime.fromisoformat(value)
        if kind is dt.date:
            return dt.date.fromisoformat(value)
        if kind is Decimal:
            return Decimal(str(value))
        if kind is bool:
            return bool(value)
        if kind is int:
            return int(value)
    except (TypeError, InvalidOperation) as exc:
        raise ValueError(value) from exc
    return str(value)


def parse_date(text: str) -> dt.date:
    """jj/mm/aaaa (or aaaa-mm-jj) -> date; ValueError otherwise."""
    text = text.strip()
    for fmt in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(text)


def _beyond(attrs, values, greater: bool):
    """Rows strictly after values in the lexicographic order of attrs (before them when not greater).

    The leading ``first >= v`` is implied by the rest but lets both databases seek the index."""
    def step(a, v):
        return a > v if greater else a < v

    condition = step(attrs[-1], values[-1])
    for attr, value in zip(reversed(attrs[:-1]), reversed(values[:-1]), strict=True):
        condition = or_(step(attr, value), and_(attr == value, condition))
    if len(attrs) > 1:
        condition = and_(attrs[0] >= values[0] if greater else attrs[0] <= values[0], condition)
    return condition


class _Explain(Executable, ClauseElement):
    """EXPLAIN (FORMAT JSON) of a statement, compiled with its bound parameters (PostgreSQL only)."""

    inherit_cache = False

    def __init__(self, statement):
        self.statement = statement


@compiles(_Explain, "postgresql")
def _compile_explain(element, compiler, **kw):
    return "EXPLAIN (FORMAT JSON) " + compiler.process(element.statement, **kw)


@dataclass
class ListState:
    """What the shared list template shows around the table: the count label and the pager."""

    count: int | None = None
    cap: int = COUNT_CAP
    estimate: int | None = None
    page: int = 0
    page_size: int = 20
    has_next: bool = False
    first_url: str | None = None
    prev_url: str | None = None
    next_url: str | None = None
    page_urls: list = field(default_factory=list)
    last_url: str | None = None
    last_page: int | None = None
    keyset: bool = False
    date_label: str | None = None
    date_value: str = ""
    date_from: str | None = None
    hidden_args: list = field(default_factory=list)
    notice: str | None = None

    @property
    def label(self) -> str:
        """The count as the agent reads it: exact when cheap, otherwise a clearly labelled bound."""
        if self.count is not None:
            if self.count == 0:
                return "Aucun résultat"
            return f"{nombre_fr(self.count)} résultat{'s' if self.count > 1 else ''}"
        if self.estimate:
            return f"Environ {nombre_fr(self.estimate)} résultats (estimation d'après les statistiques de PostgreSQL)"
        return f"Plus de {nombre_fr(self.cap)} résultats"


class FastListMixin:
    """Flask-Admin's list, rebuilt for big tables; views keep their declarative settings.

    - Count: at most COUNT_CAP rows are counted (``SELECT count(*) FROM (SELECT 1 ... LIMIT cap+1)``), exact
      below, "plus de N" above (with the planner's estimate on PostgreSQL). Views override ``get_query`` only:
      the count, the page and the totals all derive from it.
    - Pages: numbered pages up to OFFSET_CAP rows (ids first, then the rows: the OFFSET walks an index only);
      past it, "Suivante"/"Précédente" are keyset links (``apres``/``avant``: the sort value and id of the edge
      row), and lists sorted on a date offer a date jump (``date``). Every sort gets the id as tiebreaker.
    - Search: each word must start one of the searchable columns (lower case, UPPER CASE or Capitalised), a
      range on the column's plain index on SQLite and PostgreSQL alike.
    """

    def _get_list_extra_args(self):
        view_args = super()._get_list_extra_args()
        for name in CURSOR_ARGS:
            view_args.extra_args.pop(name, None)
        return view_args

    def search_placeholder(self):
        if not self.column_searchable_list:
            return None
        labels = [str(self.column_labels.get(name, name)).lower() for name in self.column_searchable_list
                  if isinstance(name, str)]
        return "Rechercher (début de : " + ", ".join(labels) + ")"

    def fastlist_state(self) -> ListState:
        """The pager and count of the list being rendered (per request, so threads never share it)."""
        return g.get("fastlist") or ListState()

    # ------------------------------------------------------------------ search

    def _apply_search(self, query, count_query, joins, count_joins, search):
        """Each word starts one of the searchable columns; range conditions an index can serve."""
        for term in search.split():
            conditions = []
            for column, path in self._search_fields:
                query, joins, alias = self._apply_path_joins(query, joins, path, inner_join=False)
                target = column if alias is None else getattr(alias, column.key)
                condition = self._prefix_condition(target, column, term)
                if condition is not None:
                    conditions.append(condition)
            query = query.filter(or_(*conditions) if conditions else literal_column("1") == 0)
        return query, count_query, joins, count_joins

    @staticmethod
    def _prefix_condition(target, column, term):
        try:
            kind = column.type.python_type
        except NotImplementedError:
            kind = str
        if kind is str:
            return starts_with(target, term)
        if kind is int and term.isdigit():
            return target == int(term)
        return None

    # ------------------------------------------------------------------ ordering

    def _pk(self):
        return getattr(self.model, self._primary_key)

    def _sort_key(self, sort_column, sort_desc):
        """(columns ending with the id, descending) for keyset paging, or None (joined, nullable, mixed order)."""
        pk = self._pk()
        if sort_column is not None:
            joins = self._sortable_joins.get(sort_column) or []
            if any(j for j in joins):
                return None
            field_ = self._sortable_columns.get(sort_column)
            spec = [(f, bool(sort_desc)) for f in (field_ if isinstance(field_, list) else [field_])]
        else:
            spec = []
            for attr, joins, desc in self._get_default_order():
                if joins:
                    return None
                spec.append((attr, bool(desc)))
        if not spec:
            return (pk,), False
        if len({desc for _attr, desc in spec}) > 1:
            return None
        attrs = []
        for attr, _desc in spec:
            if not self._keyset_column(attr):
                return None
            if attr.key != pk.key and all(a.key != attr.key for a in attrs):
                attrs.append(attr)
        return (*attrs, pk), spec[0][1]

    def _keyset_column(self, attr) -> bool:
        if attr is None or not hasattr(attr, "property") or not hasattr(attr.property, "columns"):
            return False
        return getattr(attr, "class_", None) is self.model and not attr.property.columns[0].nullable

    def _ordered(self, query, joins, sort_column, sort_desc, key, reverse=False):
        """The list's order with the id as tiebreaker, so that pages never overlap nor skip a row."""
        if key is not None:
            attrs, desc = key
            desc = desc != reverse
            return query.order_by(*[a.desc() if desc else a.asc() for a in attrs]), joins
        query, joins = self._apply_sorting(query, joins, sort_column, sort_desc)
        pk = self._pk()
        return query.order_by(pk.desc() if sort_desc else pk.asc()), joins

    # ------------------------------------------------------------------ count

    def _bounded_count(self, query, cap):
        """Exact count up to cap; above it None, with the planner's estimate on PostgreSQL.

        On PostgreSQL the estimate comes first (planning only, well under a millisecond): when it is far above
        the cap, counting even cap rows is not worth it and the list shows the estimate, labelled as such."""
        inner = query.with_entities(self._pk()).order_by(None)
        estimate = self._estimate(inner) if db.session.get_bind().dialect.name == "postgresql" else None
        if estimate is not None and estimate > 2 * cap:
            return None, estimate
        bounded = inner.limit(cap + 1).subquery()
        count = db.session.query(func.count()).select_from(bounded).scalar()
        if count <= cap:
            return count, None
        return None, estimate if estimate is not None and estimate > cap else None

    @staticmethod
    def _estimate(query) -> int | None:
        try:
            plan = db.session.execute(_Explain(query.statement)).scalar()
            plan = json.loads(plan) if isinstance(plan, str) else plan
            return int(plan[0]["Plan"]["Plan Rows"])
        except (SQLAlchemyError, KeyError, IndexError, TypeError, ValueError):
            return None

    # ------------------------------------------------------------------ the list

    def liste_restreinte(self) -> bool:
        """Whether get_query itself narrows the list (a view's own filter form), like a search or a filter."""
        return False

    def filtre_par_plage(self) -> bool:
        """Whether a range filter (dates, numbers) narrows the list: its matches sit together in the sort order."""
        return False

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True, page_size=None):
        page = page or 0
        if page_size is None:
            page_size = self.page_size
        query = self.get_query()
        joins = {}
        if self._search_supported and search:
            query, _cq, joins, _cj = self._apply_search(query, None, joins, {}, search)
        if filters and self._filters:
            query, _cq, joins, _cj = self._apply_filters(query, None, joins, {}, filters)
        key = self._sort_key(sort_column, sort_desc)
        filtered = query
        query, joins = self._ordered(query, joins, sort_column, sort_desc, key)
        if not execute or not page_size:
            for j in self._auto_joins:
                query = query.options(joinedload(j))
            if page_size:
                query = query.limit(page_size).offset(page * page_size)
            return None, query if not execute else query.all()
        state = ListState(page_size=page_size, keyset=key is not None,
                          cap=current_app.config.get("FASTLIST_COUNT_CAP", COUNT_CAP))
        offset_cap = current_app.config.get("FASTLIST_OFFSET_CAP", OFFSET_CAP)
        max_page = max(offset_cap // page_size, 0)
        cursor, backwards, date_from = self._cursor(key)

        if cursor is not None or date_from is not None:
            query = self._after(query, key, cursor, backwards, date_from)
            if backwards:
                query, joins = self._ordered(query.order_by(None), joins, sort_column, sort_desc, key, reverse=True)
            offset = 0
        else:
            if page > max_page:
                state.notice = (f"Les pages au-delà de la page {nombre_fr(max_page + 1)} s'atteignent avec "
                                "« Suivante »" + (" ou le saut à une date" if self._date_key(key) else "")
                                + f" : voici la page {nombre_fr(max_page + 1)}.")
                page = max_page
            offset = page * page_size

        counted = sort_matches = False
        if (search or filters or self.liste_restreinte()) and key is not None:
            # Under a search or filters the planner may walk the sort index, filtering every row, hoping to meet a
            # page of matches soon. When the matches are few, or all far along that index, this reads the whole
            # table: PostgreSQL walked 880,000 payments by date for 535 matches of a deposit-date range (1.7 s),
            # SQLite walked the whole index for a search. Then sort the matches instead: the sort columns, wrapped
            # in COALESCE(c, c), no longer match any index, so the filters' and search's own indexes are used.
            # PostgreSQL decides on its estimate (planning only): few matches, or under a range filter up to
            # SORT_CAP (a month of deposits: 29 ms sorted). SQLite, which picks a range's index by itself, does it
            # for a search the bounded count finds small.
            if db.session.get_bind().dialect.name == "postgresql":
                estimate = self._estimate(filtered.with_entities(self._pk()).order_by(None))
                sort_cap = current_app.config.get("FASTLIST_SORT_CAP", SORT_CAP)
                sort_matches = estimate is not None and (
                    estimate <= state.cap or (estimate <= sort_cap and self.filtre_par_plage()))
            elif search:
                state.count, state.estimate = self._bounded_count(filtered, state.cap)
                counted = True
                sort_matches = state.count is not None
        if sort_matches:
            attrs, desc = key[0], key[1] != backwards
            columns = [func.coalesce(a, a) for a in attrs]
            query = query.order_by(None).order_by(*[c.desc() if desc else c.asc() for c in columns])
        rows = self._fetch(query, offset, page_size + 1)
        has_more = len(rows) > page_size
        rows = rows[:page_size]
        if backwards:
            rows.reverse()
            state.has_next = True
        else:
            state.has_next = has_more
        if counted:
            pass
        elif page == 0 and cursor is None and date_from is None and not has_more:
            state.count = len(rows)
        else:
            state.count, state.estimate = self._bounded_count(filtered, state.cap)
        state.page = page
        self._pager(state, rows, key, cursor, backwards, date_from, has_more, max_page)
        g.fastlist = state
        return state.count, rows

    def _cursor(self, key):
        """The keyset cursor or the date jump of the request, validated; (values, backwards, date)."""
        if key is None:
            return None, False, None
        attrs = key[0]
        for name, backwards in (("apres", False), ("avant", True)):
            token = request.args.get(name)
            if not token:
                continue
            try:
                raw = decode_cursor(token)
                if len(raw) != len(attrs):
                    raise ValueError(token)
                values = [_from_json(a.property.columns[0], v) for a, v in zip(attrs, raw, strict=True)]
                return values, backwards, None
            except ValueError:
                flash("Lien de page périmé : retour au début de la liste.", "warning")
                return None, False, None
        text = request.args.get("date")
        if text and self._date_key(key):
            try:
                return None, False, parse_date(text)
            except ValueError:
                flash("Date invalide : utilisez le format jj/mm/aaaa.", "error")
        return None, False, None

    @staticmethod
    def _date_key(key) -> bool:
        if key is None or len(key[0]) < 2:
            return False
        try:
            return key[0][0].property.columns[0].type.python_type in (dt.date, dt.datetime)
        except NotImplementedError:
            return False

    def _after(self, query, key, cursor, backwards, date_from):
        """Rows after (or before) the cursor in the list's order, or from a date on."""
        attrs, desc = key
        if date_from is not None:
            attr = attrs[0]
            is_datetime = attr.property.columns[0].type.python_type is dt.datetime
            if desc:
                bound = date_from + dt.timedelta(days=1)
                bound = dt.datetime.combine(bound, dt.time()) if is_datetime else bound
                return query.filter(attr < bound)
            bound = dt.datetime.combine(date_from, dt.time()) if is_datetime else date_from
            return query.filter(attr >= bound)
        greater = desc == backwards  # walking the index upwards
        return query.filter(_beyond(attrs, cursor, greater))

    def _fetch(self, query, offset, limit):
        """The page's ids from the index (cheap even deep), then the rows with their relations."""
        pk = self._pk()
        ids = [row[0] for row in query.with_entities(pk).limit(limit).offset(offset or None).all()]
        if not ids:
            return []
        rows_query = self.get_query().filter(pk.in_(ids))
        for j in self._auto_joins:
            rows_query = rows_query.options(joinedload(j))
        by_id = {getattr(row, self._primary_key): row for row in rows_query.all()}
        return [by_id[i] for i in ids if i in by_id]

    def _pager(self, state, rows, key, cursor, backwards, date_from, has_more, max_page):
        view_args = self._get_list_extra_args()

        def url(page, **cursor_args):
            return self._get_list_url(view_args.clone(page=page or None,
                                                      extra_args={**view_args.extra_args, **cursor_args}))

        on_keyset = cursor is not None or date_from is not None
        page = state.page
        if page > 0 or on_keyset:
            state.first_url = url(0)
        if on_keyset:
            if rows and (not backwards or has_more):
                state.prev_url = url(max(page - 1, 0), avant=self._row_cursor(rows[0], key))
        elif page > 0:
            state.prev_url = url(page - 1)
        if rows and state.has_next:
            if not on_keyset and page + 1 <= max_page:
                state.next_url = url(page + 1)
            elif key is not None:
                state.next_url = url(page + 1, apres=self._row_cursor(rows[-1], key))
        if state.count is not None:
            state.last_page = max((state.count - 1) // state.page_size, 0)
            reachable = min(state.last_page, max_page)
        else:
            reachable = max_page
        if not on_keyset:
            low = max(page - 3, 0)
            high = min(page + 3, reachable)
            state.page_urls = [(p, url(p)) for p in range(low, high + 1)]
            if state.last_page is not None and state.last_page > high and state.last_page <= max_page:
                state.last_url = url(state.last_page)
        if self._date_key(key):
            state.date_label = "Aller au" if key[1] else "À partir du"
            state.date_value = date_from.strftime("%d/%m/%Y") if date_from else ""
            if date_from is not None:
                state.date_from = date_from.strftime("%d/%m/%Y")
            args = {**self._get_filters(view_args.filters), **view_args.extra_args}
            if view_args.sort is not None:
                args["sort"] = view_args.sort
            if view_args.sort_desc:
                args["desc"] = 1
            if view_args.search:
                args["search"] = view_args.search
            if view_args.page_size:
                args["page_size"] = view_args.page_size
            state.hidden_args = sorted(args.items())

    @staticmethod
    def _row_cursor(row, key):
        return encode_cursor([getattr(row, attr.key) for attr in key[0]])
