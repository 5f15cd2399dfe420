"""French display of dates, amounts and audit details, used by templates, views and exports."""
import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from markupsafe import Markup

NBSP = "\u00a0"
PARIS = ZoneInfo("Europe/Paris")
MOIS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
        "septembre", "octobre", "novembre", "décembre")


def euros(value) -> str:
    """Decimal("1234.5") -> "1 234,50 €" (non-breaking spaces)."""
    if value is None:
        return ""
    amount = Decimal(value).quantize(Decimal("0.01"))
    sign = "-" if amount < 0 else ""
    whole, cents = f"{abs(amount):.2f}".split(".")
    groups = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    return f"{sign}{NBSP.join(groups)},{cents}{NBSP}€"


def iso_utc(value: dt.datetime | None) -> str | None:
    """A stored naive UTC datetime as the API writes it: ISO 8601 ending in Z."""
    return None if value is None else value.replace(tzinfo=dt.UTC).isoformat().replace("+00:00", "Z")


def aujourdhui() -> dt.date:
    """Today on the agents' calendar (Europe/Paris), whatever the server's time zone."""
    return dt.datetime.now(PARIS).date()


def local(value: dt.datetime) -> dt.datetime:
    """A stored naive UTC datetime in Europe/Paris time."""
    return value.replace(tzinfo=dt.UTC).astimezone(PARIS)


def date_fr(value) -> str:
    """29/10/2018; a datetime is shown as its Paris date."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = local(value)
    return value.strftime("%d/%m/%Y")


def datetime_fr(value) -> str:
    """15/01/2019 11:40 in Paris time."""
    if value is None:
        return ""
    return local(value).strftime("%d/%m/%Y %H:%M")


def mois_fr(year: int, month: int) -> str:
    """(2018, 10) -> "octobre 2018"."""
    return f"{MOIS[month - 1]} {year}"


def oui_non(value) -> str:
    return "Oui" if value else "Non"


def duree_fr(delta) -> str:
    """A timedelta as the seed shows it: "2 sec", "1 min 05 sec"."""
    if delta is None:
        return ""
    seconds = int(delta.total_seconds())
    if seconds < 60:
        return f"{seconds} sec"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} sec"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def details_audit(entry, complets: bool = False) -> Markup:
    """An audit entry's details as a list: "champ : avant → après" for an update, "clé : valeur" otherwise.

    The personal values an entry may keep ("valeurs") are shown only when complets (the entry's own page).
    """
    details = entry.details or {}
    if entry.action == "update":
        items = [Markup("<li><code>{}</code> : {} → {}</li>").format(champ, *(
            "∅" if v is None else v for v in valeurs)) for champ, valeurs in sorted(details.items())]
    else:
        items = [Markup("<li>{} : {}</li>").format(cle, valeur) for cle, valeur in sorted(details.items())
                 if cle != "valeurs" or complets]
    return Markup('<ul class="list-unstyled mb-0">{}</ul>').format(Markup("").join(items)) if items else Markup("")


def init_app(app):
    """Register the filters for Jinja templates, and the audit details for the Historique of detail pages."""
    for f in (euros, date_fr, datetime_fr, oui_non, duree_fr):
        app.add_template_filter(f)
    app.add_template_global(details_audit)
