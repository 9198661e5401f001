"""The same web tests on PostgreSQL: this module overrides ``app`` with ``pg_app`` and re-runs them."""

from __future__ import annotations

from typing import Any

import pytest
from test_web_cli import test_demo_loads_genuine_histories_and_prints_logins  # noqa: F401
from test_web_lifecycle import (  # noqa: F401
    test_district_review_on_the_v1_lifecycle,
    test_from_draft_to_funded_through_the_pages,
    test_lifecycle_through_the_forms,
)
from test_web_lists import (
    test_my_work_lists_what_the_user_can_act_on_oldest_first_with_overdue_flag,  # noqa: F401
    test_search_ignores_vietnamese_diacritics,  # noqa: F401
)
from test_web_security import test_bad_input_is_a_4xx_never_a_500  # noqa: F401
from test_web_uploads import test_a_traversal_name_is_harmless, test_download_out_of_scope_is_404  # noqa: F401

pytestmark = pytest.mark.postgres


@pytest.fixture
def app(pg_app: Any) -> Any:
    return pg_app
