"""Notifications: `notify:` in the rules, the outbox, delivery once each through a local SMTP server and webhook."""

from __future__ import annotations

import csv
from datetime import timedelta

import pytest

from pipelines.notify import outbox
from pipelines.notify.channels import Courier
from pipelines.routing.ruleset.load import load_rules
from pipelines.stage import RunInfo
from pipelines.warehouse import db
from tests.conftest import HANNAH, NOW
from tests.notify_servers import Mail, SmtpServer, Webhook

US_STATE = "      table: us_states\n      lookup: {state: lead.state_code}\n"


def notify_on_us_state(rules_dir, recipients: str = "[owner, manager, {channel: ops_log}]") -> None:
    path = rules_dir / "flow.yaml"
    text = path.read_text()
    assert US_STATE in text
    path.write_text(text.replace(US_STATE, US_STATE + f"      notify: {recipients}\n", 1))


def reps(rules_dir) -> dict[str, dict]:
    with open(rules_dir / "reps.csv", newline="") as f:
        return {r["user_id"]: r for r in csv.DictReader(f)}


def outbox_rows(pipeline):
    return pipeline.query("SELECT * FROM notification_outbox ORDER BY message_key")


@pytest.fixture
def servers(monkeypatch):
    with SmtpServer() as smtp, Webhook() as hook:
        monkeypatch.setenv("LEADROUTE_NOTIFY_EMAIL_URL", smtp.url)
        monkeypatch.setenv("LEADROUTE_NOTIFY_CHANNEL_SALES_HOT", hook.url("sales-hot"))
        monkeypatch.delenv("LEADROUTE_NOTIFY_CHANNEL_OPS_LOG", raising=False)
        yield smtp, hook


def test_the_owner_their_manager_and_a_channel_hear_of_each_lead_once_after_the_push(
        pipeline, crm, rules_dir, servers):
    smtp, hook = servers
    notify_on_us_state(rules_dir)
    texas = crm.lead(company="Initech", email="bob@initech.com", FirstName="Bob", last_name="Porter", country="US",
                     state="TX")
    hot = crm.lead(company="Umbrella", email="ann@umbrella.com", FirstName="Ann", last_name="Lee", country="US",
                   state="NY", LeadSource="Web - Demo Request")
    outcome = pipeline.tick(NOW)
    stage = outcome.metadata["notifications"]
    assert (stage["planned"], stage["sent"], stage["skipped"]) == (5, 4, 1) and stage["stage/seconds"] >= 0
    roster = reps(rules_dir)
    why = dict(pipeline.query("SELECT lead_id, reason FROM routing_decision").itertuples(index=False))
    sdr = crm.owner_of(hot)
    assert crm.owner_of(texas) == HANNAH and roster[sdr]["team"] == "SDR Inbound", "the rules routed as shipped"

    texas_lines = f"Lead: Bob Porter (Initech) <bob@initech.com>\nWhy: {why[texas]}\nLead id: {texas}"
    hot_lines = f"Lead: Ann Lee (Umbrella) <ann@umbrella.com>\nWhy: {why[hot]}\nLead id: {hot}"
    assert sorted(smtp.mails, key=lambda m: m.to) == sorted([
        Mail("hannah.brooks@leadroute.example", "New lead for you: Bob Porter (Initech)", texas_lines),
        Mail("morgan.reyes@leadroute.example", "New lead for Hannah Brooks: Bob Porter (Initech)",
             "Your team's Hannah Brooks owns it.\n" + texas_lines),
        Mail(roster[sdr]["email"], "New lead for you: Ann Lee (Umbrella)", hot_lines),
    ], key=lambda m: m.to)
    assert [(p["path"], p["title"], p["message"]) for p in hook.posts] == [
        ("/sales-hot", f"New lead for {roster[sdr]['name']}: Ann Lee (Umbrella)", hot_lines)]

    rows = outbox_rows(pipeline)
    skipped = rows[rows["recipient"] == "channel:ops_log"]
    assert skipped[["status", "last_error"]].values.tolist() == [
        ["skipped", "no channel configured: set LEADROUTE_NOTIFY_CHANNEL_OPS_LOG"]], "visible, not silent"
    assert sorted(rows["status"]) == ["sent"] * 4 + ["skipped"]

    pipeline.tick(NOW + timedelta(minutes=5))
    assert len(smtp.mails) == 3 and len(hook.posts) == 1, "each message is delivered once"
    assert len(outbox_rows(pipeline)) == 5


def test_nothing_is_sent_before_the_owner_change_is_in_the_crm(pipeline, crm, rules_dir, servers, monkeypatch):
    smtp, _ = servers
    notify_on_us_state(rules_dir, "[owner]")
    crm.lead(company="Initech", email="bob@initech.com", country="US", state="TX")
    from pipelines.crm.local import LocalCrm
    from pipelines.crm.base import CrmUnavailable

    def refuse(self, *a, **k):
        raise CrmUnavailable("REQUEST_LIMIT_EXCEEDED", "the org's API limit is used up")

    with monkeypatch.context() as m:
        m.setattr(LocalCrm, "update_records", refuse)
        pipeline.tick(NOW)
    assert smtp.mails == [] and outbox_rows(pipeline)["status"].tolist() == ["pending"], "waits for the push"
    pipeline.tick(NOW + timedelta(minutes=5))
    assert [m.to for m in smtp.mails] == ["hannah.brooks@leadroute.example"]


# -- the outbox, stage by stage, on a warehouse one tick made -----------------------------------------------


@pytest.fixture
def decided(pipeline, crm, rules_dir, monkeypatch):
    """One Texas lead decided and pushed with no notification settings; returns (pipeline, rules)."""
    monkeypatch.delenv("LEADROUTE_NOTIFY_EMAIL_URL", raising=False)
    notify_on_us_state(rules_dir, "[owner, {channel: deals}]")
    crm.lead(company="Initech", email="bob@initech.com", country="US", state="TX")
    pipeline.tick(NOW)
    with db.connect(pipeline.warehouse) as con:
        con.execute("UPDATE notification_outbox SET status = 'pending', last_error = NULL, attempts = 0")
    return pipeline, load_rules(rules_dir)


def deliver(pipeline, courier: Courier, now):
    with db.connect(pipeline.warehouse) as con:
        return outbox.deliver(con, courier, RunInfo(f"run-{now:%H%M}", now))


def test_a_refusing_channel_is_retried_within_a_send_then_across_ticks_then_failed_with_its_reason(decided):
    pipeline, _ = decided
    waits: list[float] = []
    with SmtpServer() as smtp, Webhook(status=500) as hook:
        env = {"LEADROUTE_NOTIFY_EMAIL_URL": smtp.url, "LEADROUTE_NOTIFY_CHANNEL_DEALS": hook.url()}
        courier = Courier(env, sleep=waits.append, tries=3, wait_seconds=1)
        now = NOW
        for tick in range(1, outbox.MAX_ATTEMPTS + 1):
            counts = deliver(pipeline, courier, now)
            row = outbox_rows(pipeline).set_index("recipient").loc["channel:deals"]
            assert row["attempts"] == tick and len(hook.posts) == 3 * tick, "three tries per tick"
            if tick < outbox.MAX_ATTEMPTS:
                assert row["status"] == "pending" and counts["retry_later"] == 1
                assert row["next_attempt_at"] == now + timedelta(minutes=2 ** (tick - 1)), "backoff across ticks"
                assert deliver(pipeline, courier, now + timedelta(seconds=30))["retry_later"] == 0, "not due yet"
                now = row["next_attempt_at"]
        assert row["status"] == "failed"
        assert row["last_error"].startswith("deals did not take the message after 3 tries")
        assert row["last_error"].endswith(f"(gave up after {outbox.MAX_ATTEMPTS} ticks)")
        assert "127.0.0.1" not in row["last_error"], "the URL (it holds tokens) is never written down"
        assert waits == [1, 2] * outbox.MAX_ATTEMPTS, "tenacity waits, injected: no real sleep"
        assert [m.to for m in smtp.mails] == ["hannah.brooks@leadroute.example"], "the bad channel stopped nobody"


@pytest.mark.parametrize(
    ("env", "edit_reps", "owner_status", "owner_error"),
    [
        ({}, False, "skipped", "no channel configured: set LEADROUTE_NOTIFY_EMAIL_URL"),
        ({"LEADROUTE_NOTIFY_EMAIL_URL": "mailto://127.0.0.1:9?from=a@b.c"}, True, "failed",
         "no email in reps.csv for 005000000000012AAA"),
        ({"LEADROUTE_NOTIFY_EMAIL_URL": "nonsense-scheme://x"}, False, "failed",
         "LEADROUTE_NOTIFY_EMAIL_URL holds a URL apprise does not understand"),
    ],
    ids=["not configured", "no email in reps.csv", "a URL apprise does not know"],
)
def test_a_recipient_that_cannot_be_written_to_is_recorded_with_the_reason(
        pipeline, crm, rules_dir, monkeypatch, env, edit_reps, owner_status, owner_error):
    for var in ("LEADROUTE_NOTIFY_EMAIL_URL", "LEADROUTE_NOTIFY_CHANNEL_DEALS"):
        monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    if edit_reps:
        path = rules_dir / "reps.csv"
        path.write_text(path.read_text().replace("hannah.brooks@leadroute.example", ""))
    notify_on_us_state(rules_dir, "[owner]")
    crm.lead(company="Initech", email="bob@initech.com", country="US", state="TX")
    pipeline.tick(NOW)
    rows = outbox_rows(pipeline)
    assert rows[["recipient", "status", "last_error"]].values.tolist() == [["owner", owner_status, owner_error]]


def test_a_row_found_sending_is_unconfirmed_and_never_sent_again(decided):
    pipeline, rules = decided
    with db.connect(pipeline.warehouse) as con:
        con.execute("UPDATE notification_outbox SET status = 'sending' WHERE recipient = 'owner'")
    with SmtpServer() as smtp:
        courier = Courier({"LEADROUTE_NOTIFY_EMAIL_URL": smtp.url}, sleep=lambda s: None)
        with db.connect(pipeline.warehouse) as con:
            result = outbox.run(con, rules, RunInfo("after-crash", NOW + timedelta(minutes=5)), courier)
        assert result.counts["unconfirmed_found"] == 1 and smtp.mails == []
    row = outbox_rows(pipeline).set_index("recipient").loc["owner"]
    assert row["status"] == "unconfirmed" and "not sent again" in row["last_error"]


# -- the rules ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("file", "old", "new", "message"),
    [
        ("flow.yaml", US_STATE, US_STATE + "      notify: [onwer]\n",
         "step 'us_state': unknown notify recipient 'onwer' (did you mean 'owner'?); a recipient is owner, manager "
         "or {channel: NAME}"),
        ("flow.yaml", US_STATE, US_STATE + "      notify: []\n",
         "step 'us_state': `notify` needs a list of recipients, e.g. notify: [owner, manager, {channel: sales_hot}]"),
        ("pools.yaml", "    notify: [owner, {channel: sales_hot}]", "    notify: [owner, {channel: Sales-Hot}]",
         "pool 'hot_inbound': channel name 'Sales-Hot' must be lower-case letters, digits and _ (it names the variable "
         "LEADROUTE_NOTIFY_CHANNEL_<NAME>), e.g. sales_hot"),
        ("pools.yaml", "    notify: [owner, {channel: sales_hot}]", "    notify: [owner, {slack: sales_hot}]",
         "pool 'hot_inbound': a notify recipient mapping is {channel: NAME}, not ['slack']"),
        ("day2.yaml", "        notify: [owner]", "        notify: [boss]",
         "SLA 'territory_first_touch': escalate: unknown notify recipient 'boss'; a recipient is owner, manager or "
         "{channel: NAME}"),
    ],
)
def test_a_bad_notify_is_reported_at_its_file_and_line(rules_dir, file, old, new, message):
    from pipelines.sourcefile import ConfigError

    path = rules_dir / file
    text = path.read_text()
    assert old in text
    line = text[:text.index(old)].count("\n") + 1 + old.count("\n")
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(ConfigError) as exc:
        load_rules(rules_dir)
    found = [str(p) for p in exc.value.problems]
    assert f"routing_rules/{file}:{line}: error: {message}" in found, found


def test_notifying_the_manager_needs_a_manager_id_column_in_reps_csv(rules_dir):
    from pipelines.crm.fields import load_field_mapping
    from pipelines.routing.ruleset.checks import validate

    mapping = load_field_mapping(rules_dir / "fields.yaml")
    notify_on_us_state(rules_dir, "[manager]")
    path = rules_dir / "reps.csv"
    rows = list(csv.reader(path.open()))
    col = rows[0].index("manager_id")
    with path.open("w", newline="") as f:
        csv.writer(f).writerows([r[:col] + r[col + 1:] for r in rows])
    found = [str(p) for p in validate(load_rules(rules_dir), mapping)]
    assert any(p.startswith("routing_rules/flow.yaml:") and
               p.endswith("error: `notify: manager` needs a `manager_id` column in reps.csv") for p in found), found


def test_the_courier_tries_three_times_waiting_as_injected(monkeypatch):
    waits: list[float] = []
    with Webhook(status=503) as hook:
        got = Courier({"LEADROUTE_NOTIFY_CHANNEL_X": hook.url()}, sleep=waits.append, wait_seconds=0.5).send(
            "x", None, "s", "b")
    assert (got.status, got.retry, len(hook.posts), waits) == ("failed", True, 3, [0.5, 1.0])



# -- a tick killed with SIGKILL around the notifications (tests/crash_tick.py) ------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("point", ["before_notify", "after_notification_sent"])
def test_a_notification_is_never_sent_twice_across_a_crash(point, pipeline, crm, rules_dir, tmp_path, monkeypatch):
    from tests.test_crash_recovery import Crash

    notify_on_us_state(rules_dir, "[owner, manager]")
    texas = crm.lead(company="Initech", email="bob@initech.com", country="US", state="TX")
    with SmtpServer() as smtp:
        monkeypatch.setenv("LEADROUTE_NOTIFY_EMAIL_URL", smtp.url)
        crash = Crash(pipeline, tmp_path, monkeypatch, "local")
        killed = crash.start(point, NOW)
        sent_before_the_kill = len(smtp.mails)
        crash.kill(killed)
        assert crm.owner_of(texas) == HANNAH, "the push had finished"

        pipeline.tick(NOW + timedelta(minutes=5))
        pipeline.tick(NOW + timedelta(minutes=10))
        rows = outbox_rows(pipeline).set_index("recipient")
        to = sorted(m.to for m in smtp.mails)
    if point == "before_notify":
        assert sent_before_the_kill == 0
        assert to == ["hannah.brooks@leadroute.example", "morgan.reyes@leadroute.example"], "each once, after all"
        assert set(rows["status"]) == {"sent"}
    else:
        # The first message left before the kill: it is unconfirmed (reported, never resent); the other is sent.
        assert sent_before_the_kill == 1
        assert to == ["hannah.brooks@leadroute.example", "morgan.reyes@leadroute.example"], "nobody hears twice"
        assert sorted(rows["status"]) == ["sent", "unconfirmed"]
        assert "not sent again" in rows.loc[rows["status"] == "unconfirmed", "last_error"].iloc[0]


def test_an_sla_escalation_tells_the_manager_and_the_daily_digest_goes_once_to_each_manager(
        pipeline, crm, rules_dir, servers):
    from click.testing import CliRunner

    from pipelines.cli import cli

    smtp, _ = servers
    texas = crm.lead(company="Initech", email="bob@initech.com", FirstName="Bob", last_name="Porter", country="US",
                     state="TX")
    pipeline.tick(NOW)
    pipeline.tick(NOW + timedelta(minutes=5))
    assert smtp.mails == [], "the shipped territory steps notify nobody"
    later = NOW + timedelta(days=4)  # Tuesday: Hannah's 16 working hours ran out on Monday, untouched
    pipeline.tick(later)
    assert crm.owner_of(texas) == "005000000000001AAA", "escalated to Hannah's manager, Morgan, as its owner"
    why = pipeline.query("SELECT reason FROM current_decision WHERE lead_id = ?", [texas])["reason"].iloc[0]
    assert smtp.mails == [Mail("morgan.reyes@leadroute.example",
                               "SLA territory_first_touch missed: Bob Porter (Initech), now for you",
                               f"Lead: Bob Porter (Initech) <bob@initech.com>\nWhy: {why}\nLead id: {texas}")]

    env = {"LEADROUTE_WAREHOUSE": str(pipeline.warehouse), "LEADROUTE_RULES": str(rules_dir),
           "LEADROUTE_CRM": "local", "LEADROUTE_CRM_PATH": str(pipeline.crm_path)}
    for _ in range(2):  # the schedule, then someone by hand: one digest per manager and day
        out = CliRunner().invoke(cli, ["notify", "digest", "--now", (later + timedelta(hours=1)).isoformat()], env=env)
        assert out.exit_code == 0, out.output
    roster = reps(rules_dir)
    managers = {r["manager_id"] for r in roster.values() if r["manager_id"]}
    digests = [m for m in smtp.mails if "digest" in m.subject]
    assert sorted(m.to for m in digests) == sorted(roster[m]["email"] for m in managers)
    morgan = next(m for m in digests if m.to == "morgan.reyes@leadroute.example")
    team = sum(1 for r in roster.values() if r["manager_id"] == "005000000000001AAA")
    assert morgan.subject == (f"leadroute daily digest {later:%Y-%m-%d}: 1 SLA misses in the last day, "
                              "0 leaked leads on your team")
    assert morgan.body.splitlines()[:3] == [
        f"Your team ({team} reps), as of {later + timedelta(hours=1):%Y-%m-%d %H:%M} UTC:",
        "SLA misses in the last day: Hannah Brooks 1",
        "Leaked (assigned, never touched, past the SLA or leakage_after): none"]
    assert morgan.body.splitlines()[3].startswith("Leads waiting in queues: ")
    # The next day's digest tells that day's misses: yesterday's is not counted again.
    out = CliRunner().invoke(cli, ["notify", "digest", "--now", (later + timedelta(days=1, hours=1)).isoformat()],
                             env=env)
    assert out.exit_code == 0, out.output
    next_day = [m for m in smtp.mails if m.to == "morgan.reyes@leadroute.example" and "digest" in m.subject][-1]
    assert next_day.subject.startswith(f"leadroute daily digest {later + timedelta(days=1):%Y-%m-%d}: 0 SLA misses")

    status = CliRunner().invoke(cli, ["notify", "status"], env=env)
    assert status.exit_code == 0 and "sent" in status.output and "Needs a look (0)" in status.output, status.output


# -- the CRM notifies the owner itself: notify: {crm: true} on a step ----------------------------------------


CUSTOMER_STEP = "      convert: {converted_status: Qualified}\n"


def test_the_crm_notifies_the_owner_itself_with_a_task_reminder_and_the_conversion_email(
        twin_pipeline, crm_twin, rules_dir, monkeypatch):
    from tests.conftest import AVA

    monkeypatch.delenv("LEADROUTE_NOTIFY_EMAIL_URL", raising=False)
    notify_on_us_state(rules_dir, "{crm: true}")
    flow = rules_dir / "flow.yaml"
    text = flow.read_text()
    assert CUSTOMER_STEP in text
    flow.write_text(text.replace(CUSTOMER_STEP, CUSTOMER_STEP + "      notify: {to: [owner], crm: true}\n", 1))
    crm_twin.account("Acme Corp", website="https://www.acme.com", type="Customer", owner=AVA, state="CA")
    acme = crm_twin.lead(company="ACME", email="jo@us.acme.com", country="USA", state="California")
    texas = crm_twin.lead(company="Initech", email="bob@initech.com", country="US", state="TX")
    twin_pipeline.tick(NOW)

    reminder = f"{NOW:%Y-%m-%dT%H:%M:%S}.000+0000"
    if crm_twin.kind == "salesforce":
        tasks = {w.values["OwnerId"]: w.values for w in crm_twin.emu.writes("Task")}
        assert crm_twin.emu.notification_emails == [acme], "convertLead asked Salesforce to email the owner"
    else:
        import contextlib
        import sqlite3

        with contextlib.closing(sqlite3.connect(crm_twin.path)) as con:
            con.row_factory = sqlite3.Row
            tasks = {r["OwnerId"]: dict(r) for r in con.execute("SELECT * FROM Task WHERE LeadRoute_Key__c IS NOT NULL")}
            emails = con.execute("SELECT RecordId, OwnerId FROM _NotificationEmail").fetchall()
        assert [tuple(e) for e in emails] == [(acme, AVA)], "the local CRM records the conversion's email to the owner"
    assert set(tasks) == {AVA, HANNAH}
    for owner in (AVA, HANNAH):
        assert bool(tasks[owner]["IsReminderSet"]) and tasks[owner]["ReminderDateTime"] == reminder
    assert tasks[HANNAH]["Subject"] == "New lead assigned to you by leadroute", "a step without a task gets one"
    assert tasks[AVA]["Subject"].startswith("New contact"), "a step with a task: that task carries the reminder"
    assert crm_twin.owners()[texas] == HANNAH
    assert outbox_rows(twin_pipeline)["recipient"].tolist() == ["owner"], "and the email to the owner, as asked"


def test_crm_true_on_a_pool_is_refused_at_its_line(rules_dir):
    from pipelines.crm.fields import load_field_mapping
    from pipelines.routing.ruleset.checks import validate

    path = rules_dir / "pools.yaml"
    text = path.read_text()
    old = "    notify: [owner, {channel: sales_hot}]"
    path.write_text(text.replace(old, "    notify: {to: [owner], crm: true}", 1))
    line = text[:text.index(old)].count("\n") + 1
    found = [str(p) for p in validate(load_rules(rules_dir), load_field_mapping(rules_dir / "fields.yaml"))]
    assert (f"routing_rules/pools.yaml:{line}: error: `crm: true` works on flow steps only: the CRM's notification "
            f"rides on the step's own writes (its task's reminder, its conversion's email)") in found, found
