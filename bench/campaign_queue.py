"""Queue a member-care campaign to every customer: recipient rows written and send jobs enqueued.

    python bench/campaign_queue.py [--filters '{"kind": "company"}'] [--keep]

Runs against the database the KEFU_* environment selects (fill it first with
`bench/generate.py --customers 100000`). Starting a campaign writes one send-log row per
recipient (with the opt-out, no-mobile and duplicate-number checks) in one transaction, then
enqueues one send job per 500 queued recipients in the Huey queue of that environment. Nothing
is sent: the jobs stay queued and are flushed at the end (unless --keep), and the campaign and
its rows are deleted again unless --keep.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import database_label, django_setup

django_setup()

from django.db import connection
from huey.contrib.djhuey import HUEY

from kefu.accounts.models import User
from kefu.customers.models import Customer
from kefu.messaging import services
from kefu.messaging.models import Campaign, Message, MessageStatus, MessageTemplate

BENCH_USER = "bench-messaging"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--filters", default="{}", help="the customer list's filters, as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the campaign, its rows and the queued jobs")
    args = parser.parse_args()

    actor = User.objects.filter(username=BENCH_USER).first() or User.objects.create_superuser(
        username=BENCH_USER, password=None, full_name="群发基准"
    )
    template = MessageTemplate.objects.get(name="会员服务通知")
    print(database_label())
    print(f"customers: {Customer.objects.count():,}; Huey: {type(HUEY).__name__}")
    HUEY.immediate = False
    pending_before = HUEY.pending_count()

    campaign = services.campaign_create(
        actor=actor,
        name="基准群发",
        template=template,
        filters=json.loads(args.filters),
        params={"notice": "本周六会员日全场药品九折。"},
    )
    campaign = services.campaign_transition(actor=actor, campaign=campaign, action="submit")
    started = time.perf_counter()
    cpu = time.process_time()
    services.campaign_transition(actor=actor, campaign=campaign, action="start")  # rows, then jobs on commit
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu
    campaign.refresh_from_db()
    jobs = HUEY.pending_count() - pending_before
    queued = Message.objects.filter(campaign=campaign, status=MessageStatus.QUEUED).count()
    print(
        f"campaign {campaign.number}: {campaign.total_count:,} recipient rows "
        f"({queued:,} queued, {campaign.skipped_count:,} skipped), {jobs} send jobs enqueued"
    )
    print(f"start (rows written + jobs enqueued): {elapsed:.1f} s wall, {cpu:.1f} s CPU in this process")
    if not args.keep:
        HUEY.flush()
        Message.objects.filter(campaign=campaign).delete()
        Campaign.objects.filter(pk=campaign.pk).delete()
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        print("campaign, rows and queued jobs removed again")


if __name__ == "__main__":
    main()
