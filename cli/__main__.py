"""Operator commands, configured by the same environment as the app (DATABASE_URL):

python -m cli reconcile      check every account against the ledger; exit 1 if any balance disagrees
python -m cli backup FILE    write a snapshot of the database to FILE
python -m cli restore FILE   replace the database's contents with the snapshot in FILE
"""

import argparse
import sys
from collections import defaultdict
from pathlib import Path

from sqlmodel import select

from models.account import Account
from models.user import User
from services.infra import backup, db
from services.trading import reconcile
from settings import ConfigError, Settings, load_settings


def reconcile_all(settings: Settings) -> int:
    """Print each account's differences; 0 when every account agrees with its ledger, 1 otherwise."""
    engine = db.make_engine(settings)
    try:
        db.check_reachable(engine)
        with db.session_scope(engine) as session:
            found = reconcile.reconcile(session)
            owners = {
                account_id: f"{name}, {email}"
                for account_id, name, email in session.exec(
                    select(Account.id, Account.name, User.email).join(User, User.id == Account.user_id)
                )
            }
    finally:
        engine.dispose()
    accounts = len(owners)
    by_account = defaultdict(list)
    for difference in found:
        by_account[difference.account_id].append(difference)
    for account_id, differences in by_account.items():
        print(f"account {account_id} ({owners.get(account_id, 'unknown owner')}):")
        for d in differences:
            where = f" {d.symbol}" if d.symbol else ""
            print(f"  {d.check}{where}: expected {d.expected}, found {d.actual}")
    if by_account:
        print(f"{len(by_account)} of {accounts} accounts disagree with the ledger.")
        return 1
    print(f"All {accounts} accounts reconcile with the ledger.")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cli", description="Sherwood's operator commands.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("reconcile", help="check every account against the ledger (exit 1 on any difference)")
    for name, text in (("backup", "write a snapshot of the database to FILE"), ("restore", "restore FILE")):
        commands.add_parser(name, help=text).add_argument("file", type=Path)
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        if args.command == "reconcile":
            return reconcile_all(settings)
        if args.command == "backup":
            backup.backup(settings, args.file)
            print(f"Backed up the database to {args.file}.")
        else:
            backup.restore(settings, args.file)
            print(f"Restored the database from {args.file}.")
        return 0
    except (ConfigError, backup.BackupError) as exc:
        print(exc, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
