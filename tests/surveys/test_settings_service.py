"""survey_settings_update: creates the team's row from the project defaults, validates every change."""

import pytest

from surveys.models import SurveySettings
from surveys.services import survey_settings_update
from tests import factories
from tickets.exceptions import DomainError

pytestmark = pytest.mark.django_db


def test_first_change_creates_the_row_from_the_project_defaults(team, settings):
    settings.HELPDESK_SURVEY_THROTTLE_DAYS = 12
    row = survey_settings_update(team=team, changes={"enabled": False})
    assert (row.channel, row.enabled, row.kinds, row.throttle_days) == ("", False, ["csat"], 12)


def test_later_changes_update_the_same_row_and_keep_the_rest(team):
    survey_settings_update(team=team, changes={"kinds": ["nps"], "delay_minutes": 5})
    survey_settings_update(team=team, changes={"nps_question": "Would you recommend us?"})
    row = SurveySettings.objects.get(team=team)
    assert (row.kinds, row.delay_minutes, row.question("nps")) == (["nps"], 5, "Would you recommend us?")


def test_a_channel_row_is_separate_from_the_team_row(team):
    survey_settings_update(team=team, channel="chat", changes={"enabled": False})
    assert list(SurveySettings.objects.values_list("channel", "enabled")) == [("chat", False)]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"kinds": ["stars"]}, "Unknown survey kind"),
        ({"token_lifetime_days": 0}, "token_lifetime"),
        ({"poor_answer_action": "explode"}, "poor_answer_action"),
        ({"secret": "x"}, "Unknown survey setting"),
    ],
)
def test_invalid_changes_are_refused_and_nothing_is_saved(team, changes, message):
    with pytest.raises(DomainError, match=message):
        survey_settings_update(team=team, changes=changes)
    assert not SurveySettings.objects.exists()


def test_other_teams_rows_are_untouched(team):
    other = factories.SurveySettingsFactory(kinds=["ces"])
    survey_settings_update(team=team, changes={"kinds": ["csat", "nps"]})
    other.refresh_from_db()
    assert other.kinds == ["ces"]
