"""Citizens' text is data, never markup: hostile names and messages are escaped on every screen."""
import sqlalchemy as sa

from portail_admin.extensions import db

from .test_security_matrix import admin_views, is_model_view

#: Several injection styles in one value: tag with handler, script block, attribute break-out, SVG, template.
PAYLOADS = ['<img src=x onerror=alert(1)>', '"><script>alert(2)</script>', "'><svg/onload=alert(3)>",
            '<a href="javascript:alert(4)">x</a>', "{{ config }}{% debug %}"]
PAYLOAD = "".join(PAYLOADS)
RAW = ("<img src=x", "<script>alert", "<svg/onload", 'href="javascript:alert')
#: Free-text columns a family (or Enfance) fills in.
FREE_TEXT = {"nom", "prenom", "payeur", "motif", "libelle", "texte", "sujet", "corps", "adresse", "description"}


def poison() -> int:
    """Put the payload in every free-text column of every row; returns how many columns."""
    columns = 0
    for table in db.metadata.sorted_tables:
        values = {c.name: PAYLOAD[: c.type.length] if getattr(c.type, "length", None) else PAYLOAD
                  for c in table.columns if c.name in FREE_TEXT and isinstance(c.type, (sa.String, sa.Text))}
        if values and table.name not in ("agents",):
            db.session.execute(table.update().values(**values))
            columns += len(values)
    db.session.execute(sa.text("UPDATE demandes SET contenu = :c").bindparams(
        sa.bindparam("c", {"objet": PAYLOAD, "message": PAYLOAD}, type_=sa.JSON)))
    db.session.commit()
    return columns


def test_hostile_text_is_escaped_on_every_list_and_detail_page(app, client, auth, demo_data):
    columns = poison()
    auth.login("admin@demo.fr")
    pages = 0
    for view in admin_views(app).values():
        urls = [view.url + "/"]
        if is_model_view(view):
            obj = db.session.scalar(sa.select(view.model).limit(1))
            if obj is not None and view.can_view_details:
                urls.append(f"{view.url}/details/?id={view.get_pk_value(obj)}")
            urls.append(f"{view.url}/?search={PAYLOADS[0]}")
        for url in urls:
            response = client.get(url, follow_redirects=True)
            assert response.status_code < 500, url
            body = response.get_data(as_text=True)
            for raw in RAW:
                assert raw not in body, (url, raw)
            pages += 1
    page = client.get("/admin/citoyens/").get_data(as_text=True)
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    print(f"\nXSS : {len(PAYLOADS)} charges dans {columns} colonnes, {pages} pages vérifiées")
