"""The Panel app of the Panel e2e test: a page naming the logged-in user (title and body)."""

import panel as pn

user = pn.state.user or "nobody"
pn.pane.Markdown(f"Logged in as {user}").servable(title=f"Logged in as {user}")
