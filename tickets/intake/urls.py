from django.urls import path

from tickets.intake import api as intake_api

app_name = "intake"

urlpatterns = [
    path("chat/transcripts/", intake_api.ChatTranscriptView.as_view(), name="chat-transcripts"),
    path("phone/calls/", intake_api.PhoneCallView.as_view(), name="phone-calls"),
    path("social/messages/", intake_api.SocialMessageView.as_view(), name="social-messages"),
]
