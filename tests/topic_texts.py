"""Synthetic transcripts with known topic shifts, for the chapter tests: three subjects, eight sentences each."""

from __future__ import annotations

from store.episode import TranscriptSegment

TOPICS = {
    "pasta": [
        "Today we start in the kitchen with a pot of salted water for the pasta.",
        "Bring the water to a rolling boil before the spaghetti goes in.",
        "Fresh tomatoes, garlic and olive oil make the simplest sauce.",
        "Stir the sauce slowly so the garlic never burns in the pan.",
        "Save a cup of the starchy cooking water to loosen the sauce later.",
        "Drain the noodles a minute early and finish them in the sauce.",
        "Grate some parmesan cheese over the plate and add fresh basil.",
        "That is my grandmother's recipe for a quick weeknight dinner.",
    ],
    "space": [
        "Now let's talk about the telescope that photographed a distant galaxy.",
        "The light from those stars left them billions of years ago.",
        "Astronomers measure how fast the universe expands from that light.",
        "Jupiter's moons were the first objects seen orbiting another planet.",
        "A rocket needs enormous thrust to escape the pull of Earth's gravity.",
        "The space station circles the planet about every ninety minutes.",
        "Black holes bend light so strongly that nothing escapes them.",
        "Missions to Mars are planned for the coming decade by several agencies.",
    ],
    "football": [
        "Let's switch to last night's football match and that late goal.",
        "The striker scored with a header in the final minute of the game.",
        "The coach changed the formation at half time to press higher.",
        "Their goalkeeper saved a penalty kick early in the second half.",
        "Fans in the stadium sang for the whole ninety minutes.",
        "The referee showed two yellow cards after a rough tackle.",
        "The team now sits at the top of the league table.",
        "Next week they play the championship rivals away from home.",
    ],
}
SECONDS_PER_LINE = 30


def topic_transcript(*topics: str, speaker: str = "Host") -> list[TranscriptSegment]:
    """The topics' sentences in order, one every SECONDS_PER_LINE seconds: shifts at 240 s, 480 s, ..."""
    lines = [line for topic in topics for line in TOPICS[topic]]
    return [TranscriptSegment(float(i * SECONDS_PER_LINE), float((i + 1) * SECONDS_PER_LINE), line, speaker)
            for i, line in enumerate(lines)]  # fmt: skip
