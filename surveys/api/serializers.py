"""Output serializers of the survey API, and the input of a settings change (mirrors the service)."""

from django.core.exceptions import ValidationError
from rest_framework import serializers

from surveys.models import PoorAnswerAction, SurveyInvitation, SurveyResponse, SurveySettings, validate_kinds
from surveys.selectors import survey_settings_defaults


class SurveyAnswerBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = SurveyResponse
        fields = ["id", "kind", "score", "needs_review", "is_poor"]


class SurveyInvitationSerializer(serializers.ModelSerializer):
    responses = SurveyAnswerBriefSerializer(many=True, read_only=True)
    # Empty until a poor answer: the schema lists "" (a read-only model field would not).
    poor_follow_up_action = serializers.ChoiceField(
        choices=PoorAnswerAction.choices,
        allow_blank=True,
        read_only=True,
        help_text="Taken once, on the first poor answer; empty before.",
    )

    class Meta:
        model = SurveyInvitation
        # Never the secret: it signs the customer's one-click links.
        fields = [
            "id",
            "ticket",
            "team",
            "agent",
            "channel",
            "priority",
            "kinds",
            "state",
            "skip_reason",
            "send_at",
            "sent_at",
            "expires_at",
            "responded_at",
            "finished_at",
            "poor_follow_up_action",
            "follow_up_ticket",
            "created_at",
            "responses",
        ]
        read_only_fields = fields


class SurveyResponseSerializer(serializers.ModelSerializer):
    ticket = serializers.IntegerField(source="invitation.ticket_id", read_only=True)
    team = serializers.IntegerField(source="invitation.team_id", read_only=True, allow_null=True)
    agent = serializers.IntegerField(source="invitation.agent_id", read_only=True, allow_null=True)

    class Meta:
        model = SurveyResponse
        fields = [
            "id",
            "invitation",
            "ticket",
            "team",
            "agent",
            "kind",
            "score",
            "comment",
            "source",
            "needs_review",
            "is_poor",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class SurveySettingsSerializer(serializers.Serializer):
    """A team's all-channel survey settings; `customised` is false while the project defaults apply."""

    team = serializers.IntegerField()
    customised = serializers.BooleanField()
    enabled = serializers.BooleanField()
    kinds = serializers.ListField(child=serializers.CharField())
    csat_question = serializers.CharField(allow_blank=True)
    ces_question = serializers.CharField(allow_blank=True)
    nps_question = serializers.CharField(allow_blank=True)
    delay_minutes = serializers.IntegerField()
    token_lifetime_days = serializers.IntegerField()
    throttle_days = serializers.IntegerField()
    poor_answer_action = serializers.ChoiceField(choices=PoorAnswerAction.choices)


class SurveySettingsUpdateSerializer(serializers.Serializer):
    enabled = serializers.BooleanField(required=False)
    kinds = serializers.JSONField(
        required=False, help_text='Survey kinds to ask, the first in the email, e.g. ["csat", "nps"].'
    )
    csat_question = serializers.CharField(required=False, allow_blank=True, max_length=250)
    ces_question = serializers.CharField(required=False, allow_blank=True, max_length=250)
    nps_question = serializers.CharField(required=False, allow_blank=True, max_length=250)
    delay_minutes = serializers.IntegerField(required=False, min_value=0, max_value=60 * 24 * 30)
    token_lifetime_days = serializers.IntegerField(required=False, min_value=1, max_value=365)
    throttle_days = serializers.IntegerField(required=False, min_value=0, max_value=3650)
    poor_answer_action = serializers.ChoiceField(choices=PoorAnswerAction.choices, required=False)

    def validate_kinds(self, value: object) -> list[str]:
        try:
            validate_kinds(value)
        except ValidationError as error:
            raise serializers.ValidationError(error.messages) from None
        return value


def settings_data(*, team_id: int, row: SurveySettings | None) -> dict:
    """The settings answer: the team's row, or the project defaults when it has none."""
    if row is not None:
        return {
            "team": team_id,
            "customised": True,
            **{
                name: getattr(row, name)
                for name in SurveySettingsSerializer().fields
                if name not in ("team", "customised")
            },
        }
    defaults = survey_settings_defaults()
    return {
        "team": team_id,
        "customised": False,
        "enabled": defaults.enabled,
        "kinds": list(defaults.kinds),
        "csat_question": "",
        "ces_question": "",
        "nps_question": "",
        "delay_minutes": int(defaults.delay.total_seconds() // 60),
        "token_lifetime_days": defaults.token_lifetime.days,
        "throttle_days": defaults.throttle_days,
        "poor_answer_action": defaults.poor_answer_action,
    }
