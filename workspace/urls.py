"""Not namespaced: "home" is the name LOGIN_REDIRECT_URL and the navigation reverse."""

from django.urls import path

from workspace.views import home, search, team

urlpatterns = [
    path("", home.home, name="home"),
    path("settings/", home.settings_hub, name="settings"),
    path("search/", search.search_page, name="search"),
    path("search/palette/", search.search_palette, name="search-palette"),
    path("team/<str:metric>/<int:rep_id>/", team.team_drill, name="team-drill"),
    # Browsers ask for /favicon.ico whatever the page's <link> says.
    path("favicon.ico", home.favicon, name="favicon"),
]
