from api.world import app, world  # noqa: F401  (fixtures shared by the API, audit and admin tests)
