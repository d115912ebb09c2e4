"""``negsim play``: a person plays one or more roles of one run in the terminal (rich).

Each month a line tells what everybody can see (the front, whether talks are open); at each of the player's
decisions a panel shows the role's own private information (its value of fighting on, what each package is
worth to it, its public's mood), the package on the table and the moves open to it. A bad move gets a
message and another try; ``model`` lets the model make that one move. See :mod:`sim.play.game` for moves files.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from sim.engine.model import Decision
from sim.engine.records import Proposer
from sim.play.game import (
    KINDS,
    Move,
    MoveError,
    check_choice,
    package_label,
    parse_action,
    parse_package,
    process_line,
    role_kinds,
    whole_number,
)
from sim.present.explain import month_label
from sim.scenario.compile import Compiled

HELP = {
    "propose": "type a package number from the table, or its terms as issue=option,issue=option; "
               "'list' shows every package, 'model' lets the model choose this offer",
    "answer": "type 'accept' or 'reject' ('model' lets the model answer)",
    "ratify": "type 'ratify' (yes) or 'reject' (no) ('model' lets the model's public vote)",
    "act": "type 'act NAME' (or the name, or its number) to take an action on the ground this month; Enter or "
           "'pass' takes none",
}


class Terminal:
    """A decider that asks a person at the terminal, and records the moves they made."""

    def __init__(self, c: Compiled, roles: list[str], console: Console, ask: Callable[[str], str] | None = None):
        self.c, self.roles, self.console = c, set(roles), console
        self.ask = ask or (lambda prompt: console.input(prompt))
        self.kinds = role_kinds(c)
        self.made: list[Move] = []
        self.shown: set[str] = set()  # roles whose actions' effects were listed

    # -- the month as everybody sees it
    def month_line(self, entry: dict[str, Any]) -> str:
        t, c = entry["month"], self.c
        who = "Russia" if entry["change"] > 0 else "Ukraine"
        line = (f"{month_label(c.scenario.model.start, t)} (month {t}): {who} gains {abs(entry['change']):,.0f} km2; "
                f"Russia holds {entry['territory']:,.0f} km2 of Ukraine.")
        talks = entry.get("talks")
        if entry.get("opened"):
            line += " Talks open."
        if entry.get("change") == 0 and entry.get("stage") in ("settlement",) and not talks:
            line = line.replace(f"{who} gains 0 km2", "the front does not move (peace)")
        if talks:
            proposer = self._proposer(talks)
            line += f" {proposer} offered {package_label(c, talks['package'])}: "
            said = [f"{c.governments[g]} {'accepts' if ok else 'rejects'}" for g, (_p, ok) in enumerate(talks["answers"])]
            if all(ok for _p, ok in talks["answers"]):
                said += [f"{c.publics[g]} {'ratifies' if ok else 'rejects'}" for g, (_p, ok, voted) in
                         talks["votes"].items() if voted]
            line += ", ".join(said) + (": AGREED." if talks["agreed"] else ": no deal.")
            if talks.get("breakdown"):
                line += " Talks break down."
        elif entry.get("events"):
            line += " Something changed this month: " + "; ".join(f"{p} is now {v:g}" for p, v in entry["events"])
        return line

    def process_line(self, entry: dict[str, Any]) -> str:
        """The peace process after the month, as everybody sees it: the stage, a ceasefire, partial deals in
        force, instruments' levels."""
        return process_line(self.c, entry)

    def private_lines(self, entry: dict[str, Any]) -> list[str]:
        """What each played role alone sees of the month: its own value of fighting on, losses, mood."""
        c, lines = self.c, []
        for role in sorted(self.roles, key=list(self.kinds).index):
            if role in c.governments:
                g = c.governments.index(role)
                mood = entry["weariness"].get(g)
                lines.append(f"  {role} (you): fighting on is worth {entry['values'][g]:.3f} to you; losses so far "
                             f"{entry['casualties'][g]:,.0f}" + (f"; your public's war-weariness {mood:.0%}"
                                                                 if mood is not None else "") + ".")
            elif role in c.publics:
                g = c.publics.index(role)
                if g in entry["weariness"]:
                    lines.append(f"  {role} (you): war-weariness {entry['weariness'][g]:.0%}.")
        return lines

    def _proposer(self, talks: dict[str, Any]) -> str:
        who = talks["proposer"]
        return talks["lead"] if who == Proposer.MEDIATOR else self.c.governments[who]

    # -- a decision
    def __call__(self, d: Decision) -> int | bool | str | None:
        if d.role not in self.roles:
            return None
        if d.kind == "act":
            return self.act(d)
        self.console.print(self.panel(d))
        while True:
            try:
                text = self.ask(f"{d.role}, your move ({'/'.join(self._verbs(d))}, help): ").strip()
            except EOFError:
                self.console.print("No more input: the model makes the rest of your moves.")
                self.roles = set()
                return None
            try:
                choice = self.read(d, text)
            except MoveError as e:
                self.console.print(f"[red]Not a move:[/red] {e}. Try again.")
                continue
            if isinstance(choice, str):  # a command, not a move: model, help or list
                if choice == "model":
                    self.console.print(f"The model makes this move for {d.role}.")
                    return None
                self.console.print(self.packages(d, limit=None) if choice == "list" else HELP[d.kind])
                continue
            self.made.append(Move(d.month, d.role, d.kind, choice))
            return choice

    def act(self, d: Decision) -> str | None:
        """The start of a month: the role may take one action on the ground, listed on one line (their effects
        the first time and on `help`); Enter takes none."""
        acts = [a for a in d.view["actions"] if a["left"] != 0]
        if not acts:
            return None
        if d.role not in self.shown:  # each action's effect the first time, then its label ('help' again)
            self.shown.add(d.role)
            self.action_list(d.role, acts)
        self.console.print(f"{d.role} may act: " + ", ".join(
            f"{i} {a['name']}" + ("" if a["left"] is None else f" ({a['left']} left)")
            for i, a in enumerate(acts, start=1)), markup=False)
        while True:
            try:
                text = self.ask(f"{d.role}, act NAME or Enter to pass: ").strip()
            except EOFError:
                self.console.print("No more input: the model makes the rest of your moves.")
                self.roles = set()
                return None
            word = text.split(None, 1)[1] if text.lower().startswith("act ") else text
            if word.lower() in ("", "pass", "none", "model"):
                return None
            if word.lower() in ("help", "?", "list"):
                self.action_list(d.role, acts)
                self.console.print(HELP["act"])
                continue
            number = whole_number(word)
            name = acts[number - 1]["name"] if number is not None and 1 <= number <= len(acts) else word
            try:
                check_choice(self.c, d, parse_action(self.c, d.role, name))
            except MoveError as e:
                self.console.print(f"[red]Not a move:[/red] {e}. Try again.")
                continue
            self.made.append(Move(d.month, d.role, "act", name))
            return name

    def action_list(self, role: str, acts: list[dict[str, Any]]) -> None:
        self.console.print(f"{role}, your actions on the ground (one a month, at its start):", markup=False)
        for i, a in enumerate(acts, start=1):
            self.console.print(f"  {i} {a['name']}: {a['effect']}", markup=False)

    def _verbs(self, d: Decision) -> tuple[str, ...]:
        return {"propose": ("propose N",), "answer": ("accept", "reject"), "ratify": ("ratify", "reject")}[d.kind]

    def read(self, d: Decision, text: str) -> int | bool | str:
        """Parse what the person typed for this decision; MoveError says what was expected and what came."""
        low = text.lower()
        if low in ("help", "?", "model", "list"):
            return {"?": "help"}.get(low, low)
        words = low.split(None, 1)
        verb = words[0] if words else ""
        if d.kind == "propose":
            if verb == "propose":
                text = text.split(None, 1)[1] if len(words) > 1 else ""
            elif verb in ("accept", "reject", "ratify"):
                raise MoveError(f"it is your turn to propose a package, not to {verb}")
            if not text:
                raise MoveError("expected a package number or terms issue=option,...")
            x = parse_package(self.c, text)
            check_choice(self.c, d, x)
            return x
        yes, no = ("accept", "reject") if d.kind == "answer" else ("ratify", "reject")
        aliases = {yes: True, yes[0]: True, "yes": True, "y": True, no: False, no[0]: False, "no": False, "n": False}
        if verb == "propose" or verb.isdigit():
            raise MoveError(f"it is your turn to {yes} or {no} the offer on the table, not to propose")
        if verb not in aliases or len(words) > 1:
            raise MoveError(f"expected {yes} or {no}, got {text!r}")
        return aliases[verb]

    # -- screens
    def panel(self, d: Decision) -> Panel:
        c, v = self.c, d.view
        head = (f"{month_label(c.scenario.model.start, d.month)}, month {d.month}: Russia holds "
                f"{v['territory_km2']:,.0f} km2 of Ukraine (this month: "
                f"{'Russia' if v['change_km2'] > 0 else 'Ukraine'} gained {abs(v['change_km2']):,.0f} km2).")
        body: list[Any] = [head]
        if d.kind == "propose" and "mediator" in v:
            body.append(f"You are the lead mediator ({d.role}). Propose a package. The table shows, by your own "
                        "reading of both sides, the chance each package is accepted by both and ratified.")
        elif d.kind == "propose":
            body.append(f"Your turn, {d.role}: propose a package. Your own numbers, which nobody else sees:")
        elif d.kind == "answer":
            body.append(f"On the table, offered by {v.get('proposer', 'the proposer')}: {package_label(c, d.package)} "
                        f"(package {d.package}). Accept or reject?")
        else:
            body.append(f"Both governments signed {package_label(c, d.package)} (package {d.package}). "
                        "Your public votes: ratify or reject?")
        if "value_of_fighting" in v:
            body.append(f"Fighting on is worth {v['value_of_fighting']:.3f} to you (0 = worst, 1 = best): what you "
                        f"expect to hold after the months ahead, less the expected costs ({v['expected_costs']:.3f}). "
                        f"A deal worth less than that is worse than war for you. Your losses so far: "
                        f"{v['casualties']:,.0f}." + (f" Your public's war-weariness: {v['weariness']:.0%}."
                                                       if v.get("weariness") is not None else ""))
        if d.kind == "answer":
            u = v["utilities"][d.package]
            body.append(f"This package is worth {u:.3f} to you: {'more' if u >= v['value_of_fighting'] else 'less'} "
                        "than fighting on.")
        if d.kind == "ratify":
            body.append(f"The package is worth {v['utility']:.3f} to your side; it clears your public's bar by "
                        f"{v['margin']:+.3f} (a negative margin means most of the public would vote no). "
                        f"War-weariness: {v['weariness']:.0%}.")
        if d.kind == "propose":
            body.append(self.packages(d, limit=12))
        body.append(HELP[d.kind])
        from rich.console import Group

        return Panel(Group(*body), title=f"{d.role}: {d.kind}", border_style="cyan")

    def packages(self, d: Decision, limit: int | None) -> Table:
        c, v = self.c, d.view
        table = Table(show_edge=False, pad_edge=False)
        table.add_column("#", justify="right")
        for issue in c.issues:
            table.add_column(issue)
        if "utilities" in v:
            table.add_column("worth to you (incl. side-payment)", justify="right")
            score = v["utilities"]
        else:
            table.add_column("chance of a ratified deal", justify="right")
            score = v["chance_of_deal"]
        legal = [x for x in range(c.n_packages) if d.options is None or d.options[x]]
        legal.sort(key=lambda x: -score[x])
        shown = legal if limit is None else legal[:limit]
        for x in shown:
            table.add_row(str(x), *c.term_names(x).values(), f"{score[x]:.3f}")
        if limit is not None and len(legal) > limit:
            table.caption = f"best {limit} of {len(legal)} packages you may propose ('list' shows all)"
        return table


def role_summary(c: Compiled, roles: list[str]) -> str:
    kinds = role_kinds(c)
    parts = []
    for r in roles:
        k = kinds[r]
        acts = ", act on the ground" if c.actions.get(r) else ""
        if k == "public" and not _votes(c, r):
            parts.append(f"{r} (this public does not vote on deals in this scenario: "
                         + ("you act on the ground only)" if acts else "you will have no moves)"))
        else:
            verbs = {"government": "propose, accept, reject", "mediator": "propose", "public": "ratify"}[k]
            parts.append(f"{r} ({verbs}{acts})")
    return ", ".join(parts)


def _votes(c: Compiled, public: str) -> bool:
    g = c.publics.index(public)
    return bool(c.base["ratifies"][g] > 0.0)


__all__ = ["Terminal", "role_summary", "KINDS"]
