"""Mass imports from Enfance: envelope reading, validation with line numbers, idempotent upsert, all or nothing."""
import io
import json

import pytest
import sqlalchemy as sa

from portail_admin.extensions import db
from portail_admin.models import (
    Audit,
    CompteMetier,
    Facture,
    Individu,
    Inscription,
    Reglement,
    Traitement,
    Ventilation,
)
from portail_admin.services import synchro
from portail_admin.services.synchro.lecture import LotInvalide, copier_ndjson, json_vers_ndjson

# Every test runs in a fresh app's context (its database, its imports folder).
pytestmark = pytest.mark.usefixtures("app")


def importer(type_import, lignes, format="json"):
    """Receive a batch and run it in this process, as the job does; returns the run."""
    if format == "json":
        corps = json.dumps(lignes).encode()
    elif format == "ndjson":
        corps = "\n".join(json.dumps(ligne) for ligne in lignes).encode()
    else:
        corps = lignes.encode()
    traitement = synchro.recevoir(type_import, io.BytesIO(corps), format)
    db.session.commit()
    traitement = synchro.demarrer(traitement.id, None)
    db.session.commit()
    synchro.importer(traitement)
    db.session.commit()
    return traitement


COMPTES = [{"code": "F001", "nom": "MARTIN", "prenom": "Julie", "email": "julie@example.fr"},
           {"code": "F002", "nom": "DURAND", "prenom": "Marc"}]
INDIVIDUS = [
    {"reference": "I1", "compte": "F001", "nom": "MARTIN", "prenom": "Léa", "date_naissance": "2016-04-02",
     "role": "enfant"},
    {"reference": "I2", "compte": "F001", "nom": "MARTIN", "prenom": "Julie", "role": "responsable"},
    {"reference": "I3", "compte": "F002", "nom": "DURAND", "prenom": "Marc", "date_naissance": "12/01/1980",
     "role": "responsable"},
]


def contenu(table) -> list:
    """Every row of a table, every column: what "the same database" means."""
    return [tuple(row) for row in db.session.execute(sa.select(table).order_by(table.c.id))]


def test_json_list_becomes_ndjson_and_bad_envelopes_are_refused():
    sortie = io.BytesIO()
    assert json_vers_ndjson(io.BytesIO(b' [ {"a": 1},\n {"b": "x\\ny"} ] '), sortie) == 2
    assert sortie.getvalue().splitlines() == [b'{"a": 1}', b'{"b": "x\\ny"}']
    for corps, message in ((b"", "vide"), (b"[]", "aucune ligne"), (b"{}", "tableau JSON"),
                           (b'[{"a": 1}', "pas terminé"), (b'[{"a": 1}] x', "suit la fin"),
                           (b"[" * 5000, "imbriqué"), (b'[{"a": }]', "JSON invalide")):
        with pytest.raises(LotInvalide, match=message):
            json_vers_ndjson(io.BytesIO(corps), io.BytesIO())
    assert copier_ndjson(io.BytesIO(b'{"a": 1}\n{"b": 2}\n'), io.BytesIO()) == 2
    with pytest.raises(LotInvalide, match="Première ligne"):
        copier_ndjson(io.BytesIO(b"pas du json\n"), io.BytesIO())


def test_same_batch_twice_leaves_the_database_exactly_as_once():
    importer("comptes", COMPTES)
    premier = importer("individus", INDIVIDUS, "ndjson")
    assert premier.resultat == "succes" and premier.compteurs == {"lignes": 3, "ecrites": 3, "inchangees": 0,
                                                                  "erreurs": 0}
    avant = contenu(Individu.__table__), contenu(CompteMetier.__table__)
    second = importer("individus", INDIVIDUS, "ndjson")
    assert second.resultat == "succes" and second.compteurs["ecrites"] == 0 and second.compteurs["inchangees"] == 3
    assert (contenu(Individu.__table__), contenu(CompteMetier.__table__)) == avant
    lea = db.session.scalar(db.select(Individu).where(Individu.reference == "I1"))
    assert lea.compte.code == "F001" and lea.role == "enfant" and lea.synchronise_le is not None
    marc = db.session.scalar(db.select(Individu).where(Individu.reference == "I3"))
    assert str(marc.date_naissance) == "1980-01-12"
    entree = db.session.scalar(db.select(Audit).where(Audit.action == "import", Audit.objet_id == str(second.id)))
    assert entree.details["inchangees"] == 3


def test_a_bad_batch_writes_nothing_and_lists_every_error_with_its_line():
    importer("comptes", COMPTES)
    lignes = INDIVIDUS + [
        {"compte": "F001", "nom": "X", "prenom": "Y", "role": "enfant"},
        {"reference": "I5", "compte": "F999", "nom": "X", "prenom": "Y", "role": "oncle",
         "date_naissance": "31/02/2020"},
    ]
    traitement = importer("individus", lignes)
    assert traitement.resultat == "erreur" and db.session.scalar(db.select(db.func.count(Individu.id))) == 0
    erreurs = {(e["ligne"], e["champ"]): e["message"] for e in traitement.erreurs}
    assert erreurs[(4, "reference")] == "référence obligatoire."
    assert erreurs[(5, "role")].startswith("rôle : « oncle » inconnu")
    assert "date invalide « 31/02/2020 »" in erreurs[(5, "date_naissance")]
    assert erreurs[(5, "compte")] == "compte famille « F999 » inconnu."
    assert traitement.compteurs["erreurs"] == 4 and "aucune donnée n'a été écrite" in traitement.journal
    factures = importer("factures", [
        {"numero": "2025-1-1", "compte": "F001", "date_emission": "2025-01-10", "montant": "-3"},
        {"numero": "2025-1-2", "compte": "F001", "date_emission": "2025-01-10", "montant": "douze"},
        {"numero": "2025-1-3", "compte": "F001", "date_emission": "2025-01-10", "montant": "12.345"},
    ])
    messages = [(e["ligne"], e["message"]) for e in factures.erreurs]
    assert messages == [(1, "montant : montant négatif (-3)."), (2, "montant : montant non numérique « douze »."),
                        (3, "montant : montant non exprimé au centime près (12.345).")]
    assert db.session.scalar(db.select(db.func.count(Facture.id))) == 0


def recevoir_ndjson(type_import, corps: bytes):
    """Receive raw NDJSON bytes and run the batch in this process; returns the run."""
    traitement = synchro.recevoir(type_import, io.BytesIO(corps), "ndjson")
    db.session.commit()
    traitement = synchro.demarrer(traitement.id, None)
    db.session.commit()
    synchro.importer(traitement)
    db.session.commit()
    return traitement


def test_ndjson_lines_keep_their_numbers_and_odd_lines_get_the_same_messages():
    importer("comptes", COMPTES)
    lignes = [json.dumps(INDIVIDUS[0]).encode(), b"", b"   ",
              b'{"reference": "I8", "compte": "F001", "nom": "A", "prenom": "B", "role": "enfant", "nom": NaN}',
              b'{"reference": "I9", "compte": "F001", "nom": "\\ud800", "prenom": "B", "role": "enfant"}',
              b"\xff\xfe", b'"un texte"', b'{"reference": "I7",}', b'[1, 2]']
    traitement = recevoir_ndjson("individus", b"\n".join(lignes) + b"\n")
    assert traitement.resultat == "erreur" and traitement.nombre == 7
    erreurs = [(e["ligne"], e["champ"], e["message"]) for e in traitement.erreurs]
    assert erreurs == [
        (4, "nom", "nom : texte attendu."),
        (6, None, "Encodage invalide (UTF-8 attendu)."),
        (7, None, "Chaque ligne doit être un objet JSON ({...})."),
        (8, None, "Ce n'est pas du JSON valide (Expecting property name enclosed in double quotes, colonne 20)."),
        (9, None, "Chaque ligne doit être un objet JSON ({...})."),
    ]
    assert db.session.scalar(db.select(db.func.count(Individu.id))) == 0


def test_absent_blank_and_untrimmed_values_convert_as_documented():
    importer("comptes", COMPTES)
    traitement = importer("individus", [
        {**INDIVIDUS[0], "date_naissance": "", "role": " Enfant ", "archive": " oui "},
        {**INDIVIDUS[1], "date_naissance": None, "archive": ""},
        {**INDIVIDUS[2], "role": "   "},
        {**INDIVIDUS[2], "reference": "I4", "date_naissance": 20160402, "archive": "peut-être"},
    ])
    assert [(e["ligne"], e["message"]) for e in traitement.erreurs] == [
        (3, "rôle obligatoire."),
        (4, "date de naissance : date invalide « 20160402 » (attendu AAAA-MM-JJ ou JJ/MM/AAAA)."),
        (4, "archive : valeur « peut-être » non reconnue (true/false, oui/non, 1/0)."),
    ]
    traitement = importer("individus", [{**INDIVIDUS[0], "date_naissance": "", "role": " Enfant ", "archive": " oui "},
                                        {**INDIVIDUS[1], "date_naissance": None, "archive": ""}])
    assert traitement.resultat == "succes", traitement.erreurs
    lea, julie = db.session.scalars(db.select(Individu).order_by(Individu.reference)).all()
    assert (lea.date_naissance, lea.role, lea.archive) == (None, "enfant", True)
    assert (julie.date_naissance, julie.archive) == (None, False)


def test_chunk_boundaries_change_nothing(monkeypatch):
    importer("comptes", COMPTES)
    monkeypatch.setattr(synchro, "TAILLE_BLOC", 2)
    lignes = INDIVIDUS + [{**INDIVIDUS[0], "reference": "I4", "compte": "F999"},
                          {**INDIVIDUS[1], "reference": "I5", "role": "oncle"}]
    refuse = importer("individus", lignes, "ndjson")
    assert [(e["ligne"], e["champ"]) for e in refuse.erreurs] == [(4, "compte"), (5, "role")]
    assert db.session.scalar(db.select(db.func.count(Individu.id))) == 0
    # Five rows in chunks of two, the last one alone; the same reference twice: the later line wins.
    lignes = INDIVIDUS + [{**INDIVIDUS[0], "reference": "I4"}, {**INDIVIDUS[0], "prenom": "Léonie"}]
    traitement = importer("individus", lignes, "ndjson")
    assert traitement.resultat == "succes" and traitement.compteurs["lignes"] == 5
    assert sorted(db.session.scalars(db.select(Individu.reference))) == ["I1", "I2", "I3", "I4"]
    assert db.session.scalar(db.select(Individu.prenom).where(Individu.reference == "I1")) == "Léonie"


def test_only_changed_rows_are_written_and_counted():
    importer("comptes", COMPTES)
    importer("individus", INDIVIDUS)
    avant = {i.reference: (i.nom, i.prenom, i.role, i.synchronise_le) for i in db.session.scalars(db.select(Individu))}
    # The same reference twice in one batch: its last line wins and it counts once.
    traitement = importer("individus", [{**INDIVIDUS[0], "prenom": "Lou"}, INDIVIDUS[1],
                                        {**INDIVIDUS[0], "prenom": "Léna", "role": "conjoint"}])
    assert traitement.compteurs == {"lignes": 3, "ecrites": 1, "inchangees": 2, "erreurs": 0}
    db.session.expire_all()
    apres = {i.reference: (i.nom, i.prenom, i.role, i.synchronise_le) for i in db.session.scalars(db.select(Individu))}
    assert apres["I1"][:3] == ("MARTIN", "Léna", "conjoint") and apres["I1"][3] > avant["I1"][3]
    assert apres["I2"] == avant["I2"] and apres["I3"] == avant["I3"]
    # Accounts are keyed by (émetteur, code): the same code under another issuer is another account.
    creche = {"code": "F001", "emetteur": "Crèche", "nom": "MARTIN", "prenom": "Anne"}
    assert importer("comptes", [creche]).compteurs["ecrites"] == 1
    comptes = importer("comptes", COMPTES + [creche])
    assert comptes.compteurs == {"lignes": 3, "ecrites": 0, "inchangees": 3, "erreurs": 0}
    prenoms = dict(db.session.execute(db.select(CompteMetier.emetteur, CompteMetier.prenom)
                                      .where(CompteMetier.code == "F001")).all())
    assert prenoms == {"Divers": "Julie", "Crèche": "Anne"}


def test_an_invoice_without_restant_du_gets_montant_minus_its_allocations_again():
    importer("comptes", COMPTES)
    facture = {"numero": "2025-100-41", "compte": "F001", "date_emission": "2025-01-10", "montant": 40}
    importer("factures", [facture])
    importer("reglements", [{"numero": "R-9", "compte": "F001", "regle_le": "2025-03-01", "mode": "cheque",
                             "encaisse": 30, "ventilations": [{"facture": "2025-100-41", "montant": 30}]}])
    assert importer("factures", [facture]).compteurs["ecrites"] == 0
    assert db.session.scalar(db.select(Facture.restant_du)) == 10
    assert importer("factures", [{**facture, "montant": 45}]).compteurs["ecrites"] == 1
    assert db.session.scalar(db.select(Facture.restant_du)) == 15
    db.session.execute(db.update(Facture).values(restant_du=1))
    db.session.commit()
    # A stale restant_du is put right even though nothing in the row changed.
    assert importer("factures", [{**facture, "montant": 45}]).compteurs["ecrites"] == 1
    assert db.session.scalar(db.select(Facture.restant_du)) == 15
    assert importer("factures", [{**facture, "montant": 45, "restant_du": 2}]).compteurs["ecrites"] == 1
    assert db.session.scalar(db.select(Facture.restant_du)) == 2


def test_a_database_failure_in_the_write_pass_writes_nothing(monkeypatch):
    importer("comptes", COMPTES)
    monkeypatch.setattr(synchro, "TAILLE_BLOC", 1)
    appels = []
    original = synchro._lire_bloc

    def panne_au_troisieme(spool):
        # Two chunks are already upserted in the transaction when the third one fails.
        appels.append(1)
        if len(appels) == 3:
            raise RuntimeError("disque plein")
        return original(spool)

    monkeypatch.setattr(synchro, "_lire_bloc", panne_au_troisieme)
    traitement = synchro.recevoir("individus", io.BytesIO(json.dumps(INDIVIDUS).encode()), "json")
    db.session.commit()
    synchro.demarrer(traitement.id, None)
    db.session.commit()
    with pytest.raises(RuntimeError):
        synchro.importer(traitement)
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(Individu.id))) == 0


def test_a_partial_batch_keeps_absent_rows_and_archive_archives():
    importer("comptes", COMPTES)
    importer("individus", INDIVIDUS)
    importer("individus", [{**INDIVIDUS[0], "prenom": "Léane"}, {**INDIVIDUS[2], "archive": True}])
    par_reference = {i.reference: i for i in db.session.scalars(db.select(Individu))}
    assert set(par_reference) == {"I1", "I2", "I3"}
    assert par_reference["I1"].prenom == "Léane" and not par_reference["I1"].archive
    assert par_reference["I3"].archive and not par_reference["I2"].archive
    # Without the field, the archive flag stays as it is.
    importer("individus", [INDIVIDUS[2]])
    db.session.expire_all()
    assert db.session.get(Individu, par_reference["I3"].id).archive


def test_invoices_keep_or_compute_restant_du_and_payments_bring_their_allocations():
    importer("comptes", COMPTES)
    factures = importer("factures", [
        {"numero": "2025-100-41", "compte": "F001", "date_emission": "2025-01-10", "montant": 40},
        {"numero": "2025-100-42", "compte": "F001", "date_emission": "2025-02-10", "montant": "25,50",
         "restant_du": "5.50", "payable_en_ligne": True},
    ])
    assert factures.resultat == "succes", factures.erreurs
    f41, f42 = db.session.scalars(db.select(Facture).order_by(Facture.numero)).all()
    assert (f41.restant_du, f41.numero_ordre, str(f41.date_depot)) == (40, 41, "2025-01-10")
    assert f42.restant_du == f42.montant - 20 and f42.payable_en_ligne
    reglements = [{"numero": "R-9", "compte": "F001", "regle_le": "2025-03-01", "mode": "cheque", "encaisse": 30,
                   "ventilations": [{"facture": "2025-100-41", "montant": 30}]}]
    premier = importer("reglements", reglements)
    assert premier.resultat == "succes", premier.erreurs
    avant = contenu(Ventilation.__table__), contenu(Reglement.__table__), contenu(Facture.__table__)
    db.session.expire_all()
    assert db.session.get(Facture, f41.id).restant_du == 10
    assert db.session.scalar(db.select(Reglement)).ventile == 30
    importer("reglements", reglements)
    assert (contenu(Ventilation.__table__), contenu(Reglement.__table__), contenu(Facture.__table__)) == avant
    refuse = importer("reglements", [{**reglements[0], "ventilations": [{"facture": "2025-100-41", "montant": 50}]},
                                     {**reglements[0], "numero": "R-10",
                                      "ventilations": [{"facture": "INCONNUE", "montant": 1}]},
                                     {**reglements[0], "numero": "R-11", "mode": "troc"}])
    messages = {(e["ligne"], e["message"]) for e in refuse.erreurs}
    assert (1, "le total des ventilations dépasse le montant encaissé.") in messages
    assert (2, "facture « INCONNUE » inconnue.") in messages
    assert any(ligne == 3 and "« troc » inconnu" in message for ligne, message in messages)
    assert contenu(Ventilation.__table__) == avant[0]


def test_csv_batch_reports_file_line_numbers_and_reference_data_chain():
    importer("comptes", COMPTES)
    importer("individus", INDIVIDUS)
    importer("structures", [{"reference": "S1", "nom": "École Jules Ferry", "type": "école"}])
    importer("activites", [{"reference": "A1", "nom": "Restauration scolaire", "structure": "S1"}])
    importer("periodes", [{"reference": "P1", "nom": "Trimestre 1", "activite": "A1", "date_debut": "2025-09-01",
                           "date_fin": "2025-12-19"}])
    csv = ("reference;individu;activite;periode;date_debut;date_fin\n"
           "INS1;I1;A1;P1;01/09/2025;19/12/2025\n"
           "INS2;I3;A1;;2025-09-01;\n")
    traitement = importer("inscriptions", csv, "csv")
    assert traitement.resultat == "succes", traitement.erreurs
    inscription = db.session.scalar(db.select(Inscription).where(Inscription.reference == "INS1"))
    assert inscription.individu.reference == "I1" and inscription.periode.nom == "Trimestre 1"
    mauvais = importer("inscriptions", "reference;individu;activite;date_debut;date_fin\n"
                                       "INS3;I1;A1;2025-09-10;2025-09-01\n"
                                       "INS4;I9;A1;2025-09-01;\n", "csv")
    assert [(e["ligne"], e["message"]) for e in mauvais.erreurs] == [
        (2, "la date de fin précède la date de début."), (3, "individu « I9 » inconnu.")]


def test_relaunch_needs_a_finished_run_and_its_file():
    importer("comptes", COMPTES)
    traitement = importer("individus", INDIVIDUS)
    traitement.resultat = "en_cours"
    with pytest.raises(synchro.ServiceError, match="déjà en attente ou en cours"):
        synchro.relancer(traitement, None)
    traitement.resultat = "succes"
    synchro.relancer(traitement, None)
    assert traitement.resultat == "en_attente" and traitement.avancement == 0 and "Relance demandée" in \
        traitement.journal
    db.session.commit()
    assert db.session.get(Traitement, traitement.id).resultat == "en_attente"
