"""RQ jobs of the retention rules: purge the audit trail, anonymise inactive families (schedule them daily)."""
from ..extensions import db
from ..services import rgpd


def purger_journal() -> int:
    """Delete the audit entries older than the "retention_audit_mois" setting; returns how many."""
    count = rgpd.purger_journal()
    db.session.commit()
    return count


def retention_familles() -> dict:
    """Anonymise the families inactive past "retention_familles_mois"; those with open requests wait."""
    resultat = rgpd.appliquer_retention()
    db.session.commit()
    return {"anonymisees": resultat["anonymisees"], "refusees": {str(k): v for k, v in resultat["refusees"].items()}}
