"""Audio description for other backends: ``POST /process`` a video URL, get descriptions back.

A client's backend hands over a video (and optionally its subtitles); the job finds the scenes,
describes the picture about a second into each scene where the dialogue leaves a pause, drops
descriptions too similar to the previous one, and posts each new description to the client's
callback as soon as it exists (the original audio-description microservice's behaviour).
"""
