"""How the API process reaches PostgreSQL: no TLS handshake attempted to this machine's own
server, the URL's wishes (and asyncpg's default for remote servers) kept."""

import pytest

from services.database import async_database_url, connect_arguments, database_hosts
from services.settings import get_settings


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u@127.0.0.1:5432/db",
        "postgresql://u@localhost/db",
        "postgresql://u@[::1]:5432/db",
        "postgresql://u@/db?host=/run/postgresql",
        "postgresql://u@127.0.0.1:5432,[::1]:5433/db?target_session_attrs=read-write",
    ],
)
def test_no_tls_attempt_to_this_machine(url):
    assert connect_arguments(async_database_url(url), get_settings())["ssl"] is False


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u@db.example.org/db",
        "postgresql://u@10.0.0.5/db",
        "postgresql://u@127.0.0.1/db?ssl=require",
        "postgresql://u@localhost/db?sslmode=verify-full",
        "postgresql://u@127.0.0.1:5432,db-standby.example.org:5432/db",  # one remote host is enough
    ],
)
def test_remote_servers_and_urls_that_ask_keep_their_tls(url):
    assert "ssl" not in connect_arguments(async_database_url(url), get_settings())


@pytest.mark.parametrize(
    ("url", "hosts", "query"),
    [
        ("postgresql://u:p@a:5432,b:5433/db", ["a:5432", "b:5433"], {}),
        ("postgres://u@a,b/db?target_session_attrs=read-write", ["a", "b"], {"target_session_attrs": "read-write"}),
        ("postgresql://u@[::1]:5432,[::2]/db", ["[::1]:5432", "[::2]"], {}),
    ],
)
def test_a_libpq_multi_host_url_names_every_host(url, hosts, query):
    """What a failover setup gives (libpq's ``host1:port1,host2:port2``), read as SQLAlchemy
    and asyncpg take several hosts."""
    parsed = async_database_url(url)
    assert parsed.drivername == "postgresql+asyncpg" and parsed.database == "db" and parsed.host is None
    assert list(parsed.query["host"]) == hosts
    assert {k: v for k, v in parsed.query.items() if k != "host"} == query
    assert database_hosts(parsed) == [h.rsplit(":", 1)[0] if not h.endswith("]") else h for h in hosts]


async def test_the_registry_connects_to_the_host_of_a_list_that_answers(migrated_database):
    """A first host that is down (a failed primary) is passed over for the next, which must
    take writes (``target_session_attrs=read-write``)."""
    from sqlalchemy import text

    from services.database import create_database

    url = async_database_url(migrated_database)
    listed = url.set(host=None, port=None).update_query_pairs(
        [("host", "127.0.0.1:9"), ("host", f"{url.host}:{url.port or 5432}"), ("target_session_attrs", "read-write")]
    )
    database = create_database(get_settings(), listed.render_as_string(hide_password=False))
    try:
        async with database.read() as conn:
            assert await conn.scalar(text("SELECT NOT pg_is_in_recovery()")) is True
    finally:
        await database.dispose()


async def test_no_host_that_takes_writes_is_an_outage(migrated_database):
    """In a failover, between the primary's end and the standby's promotion, no host of the
    list takes writes: an outage (503 and Retry-After), not a bug. Asked for a standby, this
    machine's primary plays that moment."""
    from services.database import create_database, is_outage

    url = async_database_url(migrated_database).update_query_dict({"target_session_attrs": "standby"})
    database = create_database(get_settings(), url.render_as_string(hide_password=False))
    try:
        with pytest.raises(Exception) as refused:
            async with database.read():
                pass
        assert is_outage(refused.value), repr(refused.value)
    finally:
        await database.dispose()


async def test_the_registrys_connections_never_compile_statements_to_machine_code(migrated_database):
    """JIT compiling took the indicators 1.9 s of 4.8 s at the benchmark's full size."""
    from sqlalchemy import text

    from services.database import create_database

    database = create_database(get_settings(), migrated_database)
    try:
        async with database.read() as conn:
            assert await conn.scalar(text("SHOW jit")) == "off"
        async with database.session() as session:
            assert await session.scalar(text("SHOW jit")) == "off"
    finally:
        await database.dispose()


async def test_connections_go_to_requests_in_the_order_they_asked(migrated_database):
    """32 requests on 2 connections: each gets its turn at the pool in the order it asked, so no
    request waits behind newcomers (the pool's own queue let them overtake: p99 40 times p50)."""
    import asyncio
    import itertools

    from sqlalchemy import text

    from services.database import create_database

    database = create_database(
        get_settings().model_copy(update={"database_pool_size": 2, "database_max_overflow": 0}), migrated_database
    )
    asked, granted = itertools.count(), []

    async def request() -> None:
        for _ in range(15):
            number = next(asked)
            async with database.read() as conn:
                granted.append(number)
                await conn.execute(text("SELECT 1"))

    try:
        await asyncio.gather(*(request() for _ in range(32)))
    finally:
        await database.dispose()
    # A request is passed only by those that finish connecting while it connects itself: a
    # few on a busy machine (at most 5 in 30 runs beside three spinning processes). The pool's
    # own queue let newcomers pass a waiting request without bound: 29 to 58 in 29 runs of 30.
    passed_by = [sum(1 for later in granted[:place] if later > number) for place, number in enumerate(granted)]
    assert len(granted) == 32 * 15
    assert max(passed_by) < 10, f"a request waited while {max(passed_by)} later ones got a connection"


async def test_a_read_that_ends_while_others_wait_hands_its_connection_to_the_next(migrated_database):
    """Under load a read takes its connection from the read before it, not from the pool:
    the pool's checkout and return cost about 100 µs of CPU a read."""
    import asyncio

    from sqlalchemy import event, text

    from services.database import create_database

    database = create_database(
        get_settings().model_copy(update={"database_pool_size": 2, "database_max_overflow": 0}), migrated_database
    )
    checkouts = []
    event.listen(database.read_engine.sync_engine.pool, "checkout", lambda *_: checkouts.append(1))
    answers = []

    async def request(number: int) -> None:
        for _ in range(15):
            async with database.read() as conn:
                answers.append(await conn.scalar(text("SELECT CAST(:n AS integer)"), {"n": number}))

    try:
        await asyncio.gather(*(request(n) for n in range(32)))
        assert sorted(answers) == sorted(n for n in range(32) for _ in range(15))
        assert len(checkouts) < 480 / 4, f"{len(checkouts)} checkouts from the pool for 480 reads"
        assert not database.handed_over  # the last reads found no one waiting
        assert database.read_engine.sync_engine.pool.checkedout() == 0
    finally:
        await database.dispose()


async def test_a_connection_handed_to_a_read_that_gave_up_is_pinged_before_its_next_use(migrated_database):
    """The read it was handed to stopped waiting (its client went away); the connection then
    idles outside the pool, and the database may drop it meanwhile (a restart): the next read
    gets it through the pool's ping-after-idle, so it is replaced rather than failing."""
    import asyncio

    from sqlalchemy import text

    from services.database import create_database

    database = create_database(
        get_settings().model_copy(
            update={"database_pool_size": 1, "database_max_overflow": 0, "database_ping_after_idle_seconds": 0.05}
        ),
        migrated_database,
    )

    async def waiting_read() -> None:
        async with database.read() as conn:
            await conn.execute(text("SELECT 1"))

    try:
        async with database.read() as conn:
            backend = await conn.scalar(text("SELECT pg_backend_pid()"))
            waiter = asyncio.create_task(waiting_read())
            await asyncio.sleep(0.05)
        waiter.cancel()  # before it runs: its turn came, with the connection handed over
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert len(database.handed_over) == 1
        async with database.session() as session:
            await session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
        await asyncio.sleep(0.1)
        async with database.read() as conn:
            assert await conn.scalar(text("SELECT pg_backend_pid()")) != backend
        assert not database.handed_over
    finally:
        await database.dispose()


async def test_a_read_that_finds_the_database_gone_returns_the_connections_handed_over(migrated_database):
    """A lost connection means the others are likely lost too: those handed over go back to the
    pool, which replaces every connection older than the loss, instead of failing a read each."""
    import asyncio
    import time

    from sqlalchemy import text

    from services.database import create_database, is_outage

    # A handed-over connection idle past the ping threshold goes back to the pool unused: on a
    # busy machine 0.2 s can pass between handing over and reading, so the threshold is wide here.
    settings = get_settings().model_copy(
        update={"database_pool_size": 2, "database_max_overflow": 0, "database_ping_after_idle_seconds": 30.0}
    )
    database = create_database(settings, migrated_database)
    try:
        async with database.read() as first, database.read() as second:
            backends = [await each.scalar(text("SELECT pg_backend_pid()")) for each in (first, second)]
        async with database.session() as session:
            for pid in backends:
                await session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        await asyncio.sleep(0.1)
        for _ in backends:  # both lost, as if handed over
            database.handed_over.append((await database.read_engine.connect(), time.monotonic()))
        with pytest.raises(Exception) as lost:
            async with database.read() as conn:
                await conn.execute(text("SELECT 1"))
        assert is_outage(lost.value)
        assert not database.handed_over
        async with database.read() as conn:  # the pool replaced what the loss made stale
            assert await conn.scalar(text("SELECT pg_backend_pid()")) not in backends
    finally:
        await database.dispose()


async def test_a_request_that_waits_past_the_pool_timeout_is_told_the_database_is_busy(migrated_database):
    """The wait for a turn is the pool's wait: past DATABASE_POOL_TIMEOUT_SECONDS it is the
    pool's timeout, which the API answers with 503 and Retry-After (an outage, not a bug)."""
    import asyncio

    from sqlalchemy.exc import TimeoutError as PoolTimeout

    from services.database import create_database, is_outage

    settings = get_settings().model_copy(
        update={"database_pool_size": 1, "database_max_overflow": 0, "database_pool_timeout_seconds": 0.2}
    )
    database = create_database(settings, migrated_database)
    try:
        async with database.read():
            started = asyncio.get_running_loop().time()
            with pytest.raises(PoolTimeout) as refused:
                async with database.read():
                    pass
            waited = asyncio.get_running_loop().time() - started
        assert is_outage(refused.value)
        assert 0.2 <= waited < 1.0
        async with database.read():  # the turn it did not get was not lost
            pass
    finally:
        await database.dispose()


def test_directly_to_postgresql_the_connections_turn_jit_off_and_are_released_when_idle():
    settings = get_settings().model_copy(update={"database_idle_release_seconds": 45.0})
    arguments = connect_arguments(async_database_url("postgresql://u@db.example.org/db"), settings)
    assert arguments["server_settings"] == {"jit": "off", "idle_session_timeout": "45000"}
    assert "statement_cache_size" not in arguments and "prepared_statement_name_func" not in arguments


def test_through_pgbouncer_no_startup_parameter_no_kept_statement_and_unique_statement_names():
    """PgBouncer in transaction mode refuses startup parameters it does not know (jit), may
    run a connection's next transaction on another server connection (where a statement kept
    prepared does not exist), and shares one server connection among clients (where asyncpg's
    own names, __asyncpg_stmt_1__ and on in every process, collide)."""
    settings = get_settings().model_copy(update={"database_pgbouncer": True})
    arguments = connect_arguments(async_database_url("postgresql://u@pgbouncer.internal:6432/db"), settings)
    assert "server_settings" not in arguments
    assert arguments["statement_cache_size"] == 0 and arguments["prepared_statement_cache_size"] == 0
    names = {arguments["prepared_statement_name_func"]() for _ in range(1000)}
    assert len(names) == 1000 and not any(name.startswith("__asyncpg_") for name in names)
