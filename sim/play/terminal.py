"""``negsim play``: a person plays one or more roles of one run in the terminal (rich).

Each month a line tells what everybody can see (the front, whether talks are open); at each of the player's
decisions a panel shows the situation (the month and the front), the role's own private information (its value
of fighting on, what each package is worth to it, its public's mood), the package on the table and the moves
open to it, in terms worded with the km2 they move (:mod:`sim.play.terms`). The panel fits the terminal's height
(80x24 included): the propose table shows as many of the best packages as fit, and the situation line is shown
again before every new prompt, so it never scrolls out of sight while the player decides. A bad move gets a
styled message and another try; ``list`` shows every package within the role's own red lines, ``help`` what the
numbers mean, and ``model`` lets the model make that one move. See :mod:`sim.play.game` for moves files and
:mod:`sim.play.ending` for the end screen.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from sim.engine.model import Decision
from sim.engine.records import Proposer
from sim.play import ending, terms
from sim.play.game import (
    KINDS,
    Move,
    MoveError,
    check_choice,
    parse_action,
    parse_package,
    process_line,
    role_kinds,
    whole_number,
)
from sim.present.explain import month_label
from sim.scenario.compile import Compiled

HELP = {
    "propose": "Type a package number from the table, or its terms as issue=option,issue=option. 'list' shows "
               "every package you may propose, 'model' lets the model choose this offer.",
    "answer": "Type 'accept' or 'reject'. 'list' shows the packages within your own red lines, 'model' lets the "
              "model answer.",
    "ratify": "Type 'ratify' (yes) or 'reject' (no); 'model' lets the model's public vote.",
    "act": "Type 'act NAME' (or the name, or its number) to take an action on the ground this month; Enter or "
           "'pass' takes none.",
}
SHORT_HELP = {  # the panel's last line: one line at 80 columns
    "propose": "Type a number or terms issue=option,...; or 'list', 'help', 'model'.",
    "answer": "Type accept or reject; or 'list' (your packages), 'help', 'model'.",
    "ratify": "Type ratify or reject; or 'help', 'model' (the model's public votes).",
}
MEANING = ("Fighting on is worth a number from 0 (worst) to 1 (best): what you expect to hold after the months "
           "ahead, less the expected costs of those months. A deal worth less than that is worse than war for you. "
           "A package's worth in the table is its terms' (0 to 1), its land term valued at today's line; a lead mediator's side-payment comes on top of any deal. "
           "A mediator's chance of a deal is its own reading of both sides: the chance both accept and ratify.")
WRAP_ISSUES = 4  # with more issues than this, the packages table keeps each package to one line
MAX_ROWS = 12  # the propose table shows at most this many packages (fewer if the terminal is shorter)
ERROR = "bold red"
SITUATION = "bold cyan"


class Terminal:
    """A decider that asks a person at the terminal, and records the moves they made."""

    def __init__(self, c: Compiled, roles: list[str], console: Console, ask: Callable[[str], str] | None = None):
        self.c, self.roles, self.console = c, set(roles), console
        self.ask = ask or (lambda prompt: console.input(prompt))
        self.kinds = role_kinds(c)
        self.made: list[Move] = []
        self.decisions = 0  # decisions that fell to the played roles (moved, or left to the model)
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
            x = talks["package"]
            line += (f" {proposer} offered package {x} ("
                     f"{terms.package_words(c, x, terms.land_km2(c, c.base, x, entry['territory']), short=True)}): ")
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
        self.decisions += 1
        self.console.print(self.panel(d))
        while True:
            try:
                text = self.ask(f"{d.role}, your move ({'/'.join(self._verbs(d))}, help): ").strip()
            except EOFError:
                self.console.print("No more input: the model makes the rest of your moves.", markup=False)
                self.roles = set()
                return None
            try:
                choice = self.read(d, text)
            except MoveError as e:
                self.console.print(error_text(str(e)))
                self.remind(d)
                continue
            if isinstance(choice, str):  # a command, not a move: model, help or list
                if choice == "model":
                    self.console.print(f"The model makes this move for {d.role}.", markup=False)
                    return None
                self.console.print(self.listing(d) if choice == "list" else Text(f"{MEANING} {HELP[d.kind]}"))
                self.remind(d)
                continue
            self.made.append(Move(d.month, d.role, d.kind, choice))
            return choice

    def remind(self, d: Decision) -> None:
        """The situation line again, just above the next prompt (the panel may have scrolled away)."""
        self.console.print(Text(self.situation(d), style=SITUATION))

    def act(self, d: Decision) -> str | None:
        """The start of a month: the role may take one action on the ground, listed on one line (their effects
        the first time and on `help`); Enter takes none."""
        acts = [a for a in d.view["actions"] if a["left"] != 0]
        if not acts:
            return None
        self.decisions += 1  # an action it may take is a move of its own
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
                self.console.print(error_text(str(e)))
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
    def situation(self, d: Decision) -> str:
        """The situation in a line: the month, the front, and the decision."""
        v = d.view
        what = {"propose": "propose a package", "answer": f"accept or reject package {d.package}",
                "ratify": f"ratify or reject package {d.package}"}[d.kind]
        return (f"{month_label(self.c.scenario.model.start, d.month)}, month {d.month}: Russia holds "
                f"{v['territory_km2']:,.0f} km2 of Ukraine ({'Russia' if v['change_km2'] > 0 else 'Ukraine'} gained "
                f"{abs(v['change_km2']):,.0f} km2 this month). {d.role}: {what}.")

    def offer_words(self, d: Decision) -> str:
        """The package on the table in words, its land term in km2 at today's line."""
        c, x = self.c, d.package
        return f"package {x}: {terms.package_words(c, x, terms.land_km2(c, c.base, x, d.view['territory_km2']), short=True)}"

    def own_lines(self, d: Decision) -> list[str]:
        """The role's own numbers, compactly (``help`` explains them)."""
        v, out = d.view, []
        if d.kind == "propose" and "mediator" in v:
            out.append("You lead the mediation. Chance: your own reading of both sides, that both accept a "
                       "package and it is ratified.")
        if "value_of_fighting" in v:
            mood = f"; your public's war-weariness {v['weariness']:.0%}" if v.get("weariness") is not None else ""
            out.append(f"Fighting on is worth {v['value_of_fighting']:.3f} to you (after expected costs "
                       f"{v['expected_costs']:.3f}); your losses so far {v['casualties']:,.0f}{mood}.")
        if d.kind == "answer":
            u = v["utilities"][d.package]
            out.append(f"On the table, offered by {v.get('proposer', 'the proposer')}, {self.offer_words(d)}. "
                       f"It is worth {u:.3f} to you: {'more' if u >= v['value_of_fighting'] else 'less'} than "
                       "fighting on.")
        if d.kind == "ratify":
            out.append(f"Both governments signed {self.offer_words(d)}. It is worth {v['utility']:.3f} to your side "
                       f"and clears your public's bar by {v['margin']:+.3f} (below 0, most of the public would vote "
                       f"no). War-weariness: {v['weariness']:.0%}.")
        return out

    def panel(self, d: Decision) -> Panel:
        """The decision's panel, no taller than the terminal leaves room for (the prompt and a line below it)."""
        room = self.console.size.height - 2
        limit = MAX_ROWS
        while True:
            body: list[RenderableType] = [Text(self.situation(d), style=SITUATION), *map(Text, self.own_lines(d))]
            if d.kind == "propose":
                body.append(self.packages(d, limit=limit))
            body.append(Text(SHORT_HELP[d.kind], style="dim"))
            panel = Panel(Group(*body), title=f"{d.role}: {d.kind}", border_style="cyan")
            if d.kind != "propose" or limit <= 3 or len(self.console.render_lines(panel, pad=False)) <= room:
                return panel
            limit -= 1

    def listing(self, d: Decision) -> RenderableType:
        """``list``: every package within the role's own red lines (a vote has none to choose from)."""
        if d.kind == "ratify":
            return Text("A vote is on the package on the table only: ratify or reject " + self.offer_words(d) + ".")
        return self.packages(d, limit=None)

    def packages(self, d: Decision, limit: int | None) -> Table:
        """The packages the role may choose, best first: a proposal's options, or, at an answer, those within
        its own red lines."""
        c, v = self.c, d.view
        table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold", collapse_padding=True)
        wide = len(c.issues) > WRAP_ISSUES  # a broad agenda: one line a package, cells cut short (… ends them)
        table.add_column("#", justify="right", no_wrap=True, min_width=len(str(c.n_packages - 1)))
        for k in range(len(c.issues)):
            cut = (11 if k == c.land_issue else 8) if wide else None
            table.add_column(terms.issue_words(c, c.issues[k], short=True), no_wrap=wide, overflow="ellipsis",
                             max_width=cut)
        extra = ""
        if "utilities" in v:  # the terms' worth on the 0-1 scale; a side-payment comes with any deal, said once
            table.add_column("worth", justify="right", no_wrap=True, min_width=5)
            score = v.get("terms_utilities", v["utilities"])
            if v.get("side_payment"):
                extra = f"; any deal also brings you the mediator's side-payment, {v['side_payment']:+.3f}"
        else:
            table.add_column("chance", justify="right", no_wrap=True, min_width=6)
            score = v["chance_of_deal"]
        common = [_shared_words([terms.option_words(c, issue, o, short=True) for o in c.options[k]])
                  for k, issue in enumerate(c.issues)]
        own = d.options if d.kind == "propose" else v.get("own_allowed")
        legal = [x for x in range(c.n_packages) if own is None or own[x]]
        legal.sort(key=lambda x: -score[x])
        shown = legal if limit is None else legal[:limit]
        for x in shown:
            km2 = terms.land_km2(c, c.base, x, v["territory_km2"])
            cells = terms.term_cells(c, x, km2)
            if wide:  # the words an issue's options share dropped (phased with g8 return: g8 return)
                cells = [cell if k == c.land_issue else _without(cell, common[k]) for k, cell in enumerate(cells)]
            if wide and c.land_issue >= 0 and km2 is not None:  # the land cell as signed km2: + back to Ukraine
                cells[c.land_issue] = f"{km2:+,.0f} km2" if km2 else "no change"
            table.add_row(str(x), *cells, f"{score[x]:.3f}")
        whose = "you may propose" if d.kind == "propose" else "within your own red lines"
        table.caption = (f"the best {len(shown)} of {len(legal)} packages {whose} ('list' shows all)"
                         if len(shown) < len(legal) else f"all {len(legal)} packages {whose}") + extra + (
            "; land in km2 (+ back to Ukraine, - to Russia)" if wide else "")
        return table


def _shared_words(options: list[str]) -> int:
    """How many leading words all of an issue's options share (0 if any would be left empty)."""
    split = [o.split() for o in options]
    n = 0
    while all(len(s) > n + 1 and s[n] == split[0][n] for s in split):
        n += 1
    return n


def _without(cell: str, words: int) -> str:
    return " ".join(cell.split()[words:]) if words else cell


def error_text(message: str) -> Text:
    """A move refused, styled (the message is text, never markup: it may quote what the player typed)."""
    return Text.assemble(("Not a move: ", ERROR), (f"{message}. Try again.", "red"))


def end_screen(c: Compiled, e: ending.Ending) -> list[RenderableType]:
    """The end of a game: your result beside the model's own play of the same run (just the run, where you made
    no move), then the comparison in words."""
    result = e.yours
    said = f"Result: {result.words}" + (f": {result.terms_words}." if result.terms_words else ".")
    table = Table(box=None, pad_edge=False, header_style="bold", caption_justify="left",
                  caption="satisfaction: what the deal is worth to each side less its value of no deal "
                          "(above 0: better than no deal)")
    table.add_column("")
    table.add_column("your game" if e.played else "this run (the model's own play)")
    if e.played:
        table.add_column("the model's play of this run")
    for what, yours, model in ending.rows(c, e):
        table.add_row(what, yours, *([model] if e.played else []), style="bold" if what == "outcome" else None)
    return [Text(said, style="bold"), table, *(Text(line) for line in ending.lines(c, e))]


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


__all__ = ["KINDS", "Terminal", "end_screen", "error_text", "role_summary"]
