from django.urls import path
from django.views.generic import RedirectView

from tickets.intake import web_form as views

app_name = "support"

urlpatterns = [
    # The address a customer guesses (or a signature links to) leads to the form.
    path("", RedirectView.as_view(pattern_name="support:new", permanent=False), name="home"),
    path("new/", views.support_request_new, name="new"),
    path("new/submitted/", views.support_request_submitted, name="submitted"),
    path("new/answers/", views.support_answer_suggestions, name="answers"),
    path("answers/<int:pk>/", views.support_answer, name="answer"),
]
