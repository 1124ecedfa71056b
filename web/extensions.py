"""Flask extensions bound to each app in create_app. The login rate limiter is made per app
(web.app.limit_logins) so its counters live in that app's storage (memory, or Redis shared by
every dashboard process), never in a module-level object shared between apps."""
from __future__ import annotations

from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please log in to see that page."
