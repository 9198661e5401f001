from sqlalchemy import inspect

from workflow.storage import create_db_engine


def test_database_is_migrated(database_url):
    engine = create_db_engine(database_url)
    assert "proposal" in inspect(engine).get_table_names()
    engine.dispose()
