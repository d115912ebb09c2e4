"""The play wing: games (the decision seam, moves, replays), terminal play, the draft builder, the dashboard, the classroom."""
