"""Speech recognition in every language a film speaks.

``windows`` finds the stretches of speech (Silero VAD) and packs them into decode chunks,
``languages`` decides each stretch's language from Whisper's detector, ``whisper`` holds the
model calls and ``recognise`` puts them together: words with their language, in film time.
"""
