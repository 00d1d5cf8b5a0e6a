"""The media kit: video and audio work without Django (cutting spans out of a video)."""
