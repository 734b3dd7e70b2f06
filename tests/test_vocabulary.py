"""The shared vocabulary is written once: age groups and kinds of care (codes, month ranges,
labels), the supported languages, and the typed municipal settings with their defaults."""

import re
from pathlib import Path

import pytest
from flask_babel import force_locale

from regional_loket import languages, vocabulary
from regional_loket.catalog.models import Availability, Location
from regional_loket.extensions import db
from regional_loket.tenancy import services as tenancy
from regional_loket.tenancy.models import RegionSetting, SettingsError, TenantSettings

PACKAGE = Path(vocabulary.__file__).parent


def _sources(*suffixes):
    for path in PACKAGE.rglob("*"):
        if path.suffix in suffixes and "node_modules" not in path.parts:
            yield path, path.read_text(encoding="utf-8")


def _constraint_codes(table, column):
    text = next(str(c.sqltext) for c in table.constraints
                if str(getattr(c, "sqltext", "")).startswith(f"{column} IN ("))
    return set(re.findall(r"'([a-z_]+)'", text))


def test_the_database_admits_exactly_the_vocabulary_codes():
    assert _constraint_codes(Location.__table__, "kind") == {k.value for k in vocabulary.Kind}
    assert _constraint_codes(Availability.__table__, "age_group") == {g.value for g in vocabulary.AgeGroup}
    assert set(vocabulary.AGE_GROUP_MONTHS) == set(vocabulary.AGE_GROUP_LABELS) == set(vocabulary.AgeGroup)
    assert set(vocabulary.KIND_LABELS) == set(vocabulary.Kind)


def test_age_group_labels_are_written_once():
    """The Dutch words of the age groups appear as a message only in vocabulary.py: pages use
    the ``age_group_label`` filter, Python ``vocabulary.age_group_label``."""
    words = "|".join(re.escape(word) for word in ("baby's", "peuters", "schoolkinderen"))
    pattern = re.compile(r"""_l?\(\s*["'](?:""" + words + r""")["']""")
    found = [str(path.relative_to(PACKAGE)) for path, text in _sources(".py", ".html", ".txt")
             if pattern.search(text)]
    assert found == ["vocabulary.py"]


def test_the_languages_are_written_once(app):
    assert app.config["LANGUAGES"] == languages.CODES == ("nl", "fr", "en")
    assert app.config["BABEL_DEFAULT_LOCALE"] == languages.DEFAULT
    spelled = re.compile(r"""["']Français["']|\(\s*["']nl["'],\s*["']fr["'],\s*["']en["']\s*\)""")
    found = [str(path.relative_to(PACKAGE)) for path, text in _sources(".py") if spelled.search(text)]
    assert found == ["languages.py"]
    assert languages.or_default("fr") == "fr" and languages.or_default("de") == "nl"
    assert languages.or_default(None, "en") == "en"


@pytest.mark.parametrize("language, expected", [("nl", "peuters"), ("fr", None), ("en", None)])
def test_age_group_labels_follow_the_reader(app, language, expected):
    with force_locale(language):
        label = vocabulary.age_group_label("toddler")
        rendered = app.jinja_env.from_string("{{ 'toddler'|age_group_label }}").render()
    assert label == rendered and (label == expected if expected else label != "peuters")
    assert vocabulary.age_group_label("unknown") == "unknown"


def test_age_groups_for_a_search_overlap_where_school_starts():
    assert vocabulary.age_groups_for(None) == vocabulary.AGE_GROUPS
    assert vocabulary.age_groups_for(-3) == (vocabulary.AgeGroup.BABY,)
    assert vocabulary.age_groups_for(30) == (vocabulary.AgeGroup.TODDLER, vocabulary.AgeGroup.SCHOOL)
    assert vocabulary.age_groups_of_kind("out_of_school") == (vocabulary.AgeGroup.SCHOOL,)


# --- municipal settings ------------------------------------------------------------------------


def test_tenant_settings_have_their_defaults_once():
    settings = TenantSettings.from_json({})
    assert (settings.response_days, settings.offer_days, settings.confirm_interval_months,
            settings.max_choices) == (21, 7, 3, None)
    assert TenantSettings.from_json({"offer_days": 10, "max_choices": 2}) == TenantSettings(offer_days=10,
                                                                                          max_choices=2)


@pytest.mark.parametrize("data", [{"respons_days": 21}, {"offer_days": "7"}, {"offer_days": 0},
                                  {"response_days": True}, {"response_days": None}, {"max_choices": 1.5}])
def test_tenant_settings_refuse_unknown_keys_and_wrong_values(data):
    with pytest.raises(SettingsError):
        TenantSettings.from_json(data)


def test_a_tenant_reads_its_settings_typed(make_tenant):
    tenant = make_tenant("herent", settings={"response_days": 14})
    assert tenant.settings.response_days == 14 and tenant.settings.offer_days == 7
    with pytest.raises(tenancy.TenantError, match="respons_days"):
        make_tenant("leuven", settings={"respons_days": 14})


def test_a_definition_with_a_wrong_setting_is_refused_naming_its_file(tmp_path):
    (tmp_path / "herent.toml").write_text('slug = "herent"\nname = "Herent"\nnis_code = "24038"\n'
                                          '[settings]\noffer_days = "zeven"\n')
    with pytest.raises(tenancy.TenantError, match=r"herent\.toml: setting offer_days"):
        tenancy.load_definitions(tmp_path)


def test_max_choices_per_tenant_is_capped_by_the_region(app, make_tenant):
    herent = make_tenant("herent", settings={"max_choices": 2})
    leuven = make_tenant("leuven", settings={"max_choices": 9})
    tervuren = make_tenant("tervuren")
    assert tenancy.max_choices(db.session) == tenancy.DEFAULT_MAX_CHOICES == 5
    assert [tenancy.max_choices(db.session, t) for t in (herent, leuven, tervuren)] == [2, 5, 5]
    db.session.add(RegionSetting(key="max_choices", value=3))
    db.session.flush()
    assert [tenancy.max_choices(db.session, t) for t in (None, herent, leuven, tervuren)] == [3, 2, 3, 3]
