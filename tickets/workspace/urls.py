from django.contrib.auth import views as auth_views
from django.urls import path

from tickets.workspace import views

app_name = "workspace"

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="workspace/login.html", redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.queue, name="queue"),
    path("queue/rows/", views.queue_rows, name="queue_rows"),
    path("bulk/", views.bulk, name="bulk"),
    path("views/save/", views.saved_view_save, name="saved_view_save"),
    path("views/<int:pk>/delete/", views.saved_view_delete, name="saved_view_delete"),
    path("tickets/new/", views.ticket_new, name="ticket_new"),
    path("tickets/<int:pk>/", views.ticket_detail, name="ticket"),
    path("tickets/<int:pk>/update/", views.ticket_update, name="update"),
    path("tickets/<int:pk>/presence/", views.ticket_presence, name="presence"),
    path("tickets/<int:pk>/sla/explain/", views.ticket_sla_explain, name="sla_explain"),
    path("tickets/<int:pk>/similar/", views.ticket_similar, name="similar"),
    path("tickets/<int:pk>/similar/<int:similar_pk>/link/", views.ticket_similar_link, name="similar_link"),
    path("tickets/<int:pk>/public-answer/", views.ticket_public_answer, name="public_answer"),
    path("tickets/<int:pk>/macros/<int:macro_pk>/", views.macro_preview, name="macro"),
    path("tickets/<int:pk>/people/", views.ticket_people, name="people"),
    path("customers/<int:pk>/", views.customer_detail, name="customer"),
    path("customers/<int:pk>/merge/", views.customer_merge, name="customer_merge"),
    path("attachments/<int:pk>/", views.attachment_download, name="attachment"),
    path("notifications/", views.notification_list, name="notifications"),
    path("notifications/bell/", views.notification_bell, name="bell"),
    path("notifications/read-all/", views.notification_read_all, name="notifications_read_all"),
    path("notifications/<int:pk>/open/", views.notification_open, name="notification_open"),
    path("profile/", views.profile, name="profile"),
    path("profile/notifications/", views.profile_notifications, name="profile_notifications"),
    path("team/", views.board, name="board"),
    path("team/<int:pk>/forecast/", views.team_forecast, name="forecast"),
    path("agents/<int:pk>/availability/", views.agent_availability, name="availability"),
    path("metrics/", views.metrics_page, name="metrics"),
    path("health/", views.health_page, name="health"),
]
