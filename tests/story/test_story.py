"""The story app on real generated media: graph, relevance, interest, corrections, LLM, API."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from analysis import services as analysis_services
from analysis.models import Analysis, AnalysisStatus, Scene
from analysis.pipeline import load_stages
from analysis.pipeline.base import STAGES, StageContext
from analysis.progress import group_name
from story import services
from story.cluster import Constraints, cluster
from story.external import ExternalSignals
from story.graph import SceneNode
from story.grouping import GroupingInput, plan_grouping
from story.models import (
    SceneEdge,
    SceneExclusion,
    SceneInterest,
    SceneRelevance,
    Storyline,
    StorylineEdit,
    StorylineScene,
)
from tests.fixtures_story import StoryClip

pytestmark = pytest.mark.django_db
STAGE_NAMES = ("shots", "keyframes", "audio", "storylines")


def run_stages(analysis: Analysis, clip: StoryClip, tmp_path: Any) -> Analysis:
    """The stages the story app needs, like the runner: compute, then persist atomically."""
    load_stages()
    workdir = tmp_path / f"work-{analysis.pk}"
    workdir.mkdir()
    ctx = StageContext(analysis, clip.path, workdir, lambda f, m: None, dict(analysis.parameters))
    for name in STAGE_NAMES:
        stage = STAGES[name]()
        result = stage.compute(ctx)
        with transaction.atomic():
            stage.persist(ctx, result)
    Analysis.objects.filter(pk=analysis.pk).update(
        status=AnalysisStatus.COMPLETED, metadata=analysis.metadata
    )
    analysis.refresh_from_db()
    return analysis


def new_analysis(user: Any, clip: StoryClip, tmp_path: Any, **params: Any) -> Analysis:
    video = analysis_services.video_create_from_path(owner=user, path=clip.path)
    analysis = analysis_services.analysis_start(video=video, parameters=params, enqueue=False)
    return run_stages(analysis, clip, tmp_path)


@pytest.fixture
def analysis(user: Any, story_clip: StoryClip, tmp_path: Any) -> Analysis:
    return new_analysis(user, story_clip, tmp_path, num_storylines=3)


def scenes(analysis: Analysis) -> list[Scene]:
    return list(analysis.scenes.order_by("index"))


def primary(analysis: Analysis) -> dict[int, int | None]:
    """Scene index -> primary storyline pk (None: in no storyline)."""
    rows = dict(
        StorylineScene.objects.filter(scene__analysis=analysis).values_list(
            "scene__index", "storyline_id"
        )
    )
    return {s.index: rows.get(s.index) for s in scenes(analysis)}


def groups(analysis: Analysis) -> set[frozenset[int]]:
    found: dict[int | None, set[int]] = {}
    for index, storyline in primary(analysis).items():
        found.setdefault(storyline, set()).add(index)
    return {frozenset(v) for k, v in found.items() if k is not None}


# --- Graph, relevance, interest ------------------------------------------------------------------


def test_the_shot_list_matches_the_generated_video(analysis: Analysis) -> None:
    assert [s.start_frame for s in scenes(analysis)] == [0, 50, 100, 150, 200, 250]


def test_graph_edges_show_the_shared_recording(analysis: Analysis) -> None:
    label = dict(enumerate("ACBCAB"))
    index = {s.pk: s.index for s in scenes(analysis)}
    weight: dict[tuple[int, int], float] = {}
    comps: dict[tuple[int, int], dict[str, Any]] = {}
    for edge in SceneEdge.objects.filter(analysis=analysis, kind="similarity"):
        pair = (index[edge.source_id], index[edge.target_id])
        assert pair[0] < pair[1] and 0 <= edge.weight <= 1
        weight[pair], comps[pair] = edge.weight, edge.components
    assert len(weight) == 15  # 6 scenes: every pair is among someone's 6 strongest
    voice = {p: c["voice"]["score"] for p, c in comps.items()}
    shared = [v for (a, b), v in voice.items() if label[a] in "AB" and label[b] in "AB"]
    across = [v for (a, b), v in voice.items() if (label[a] == "C") != (label[b] == "C")]
    assert min(shared) > max(across), (shared, across)  # A and B: one voice, one microphone
    colour = {p: c["colour"]["score"] for p, c in comps.items()}
    assert colour[(0, 4)] > 0.99 and colour[(2, 5)] > 0.99 and colour[(1, 3)] > 0.99
    assert colour[(0, 2)] < 0.5  # ...but each storyline has its own picture
    for i in range(6):  # each scene's strongest neighbour is the other half of its storyline
        best = max((p for p in weight if i in p), key=lambda p: weight[p])
        assert label[best[0]] == label[best[1]], (i, best)
    assert comps[(0, 4)]["colour"]["why"] == "similar colours and framing"
    assert comps[(4, 5)]["voice"]["why"] == "a similar voice and recording"


def test_three_storylines_are_found_and_two_join_the_shared_recording(
    analysis: Analysis, user: Any
) -> None:
    assert groups(analysis) == {frozenset({0, 4}), frozenset({2, 5}), frozenset({1, 3})}
    meta = analysis.metadata["storylines"]
    assert meta["criterion"]["method"] == "given" and meta["num_storylines"] == 3
    assert {"colour", "voice", "time", "motion"} <= set(meta["signals"])
    services.regroup(analysis=analysis, user=user, num_storylines=2)
    assert groups(analysis) == {frozenset({0, 2, 4, 5}), frozenset({1, 3})}


def test_automatic_number_finds_three_then_joins_the_two_with_one_voice(
    user: Any, story_clip: StoryClip, tmp_path: Any
) -> None:
    auto = new_analysis(user, story_clip, tmp_path, num_storylines=None)
    criterion = auto.metadata["storylines"]["criterion"]
    assert criterion["method"] == "silhouette"
    assert max(criterion["silhouettes"], key=criterion["silhouettes"].get) == "3"
    # A and B share one recording: by who speaks they are one storyline in two places (the
    # known cost: two storylines told by one narrator are joined unless the number is given).
    assert groups(auto) == {frozenset({0, 2, 4, 5}), frozenset({1, 3})}
    assert [m["signal"] for m in criterion["merged"]] in (["voice"], ["voiceprint"], ["speakers"])


def test_relevance_matrix_rows_sum_to_one_with_the_primary_highest(analysis: Analysis) -> None:
    storylines = list(Storyline.objects.filter(analysis=analysis))
    for scene in scenes(analysis):
        row = {r.storyline_id: r.relevance for r in SceneRelevance.objects.filter(scene=scene)}
        assert set(row) <= {s.pk for s in storylines}
        assert sum(row.values()) == pytest.approx(1.0, abs=1e-3)
        assert all(0 <= v <= 1 for v in row.values())
        member = StorylineScene.objects.get(scene=scene)  # exactly one primary storyline
        assert member.storyline_id == max(row, key=row.get)
        assert member.relevance == pytest.approx(row[member.storyline_id])
        assert row[member.storyline_id] > 1 / len(storylines) + 0.1


def test_interest_scores_have_parts_in_range(analysis: Analysis) -> None:
    rows = list(SceneInterest.objects.filter(scene__analysis=analysis).order_by("scene__index"))
    assert len(rows) == 6
    for row in rows:
        assert 0 <= row.score <= 1
        assert {"motion", "audio_energy", "audio_change", "speech_density", "novelty"} <= set(
            row.parts
        )
        assert all(0 <= v <= 1 for v in row.parts.values())
    # The first scene is new; a repeat of an earlier recording is much less so.
    assert rows[0].parts["novelty"] == 1.0 and rows[4].parts["novelty"] < 0.3


# --- Corrections -------------------------------------------------------------------------------


def storyline_of(analysis: Analysis, index: int) -> Storyline:
    return StorylineScene.objects.get(scene__analysis=analysis, scene__index=index).storyline


def scene(analysis: Analysis, index: int) -> Scene:
    return Scene.objects.get(analysis=analysis, index=index)


def test_merge_and_move_survive_a_regroup_and_reweight_the_signals(
    analysis: Analysis, user: Any
) -> None:
    a, b, c = (storyline_of(analysis, i) for i in (0, 2, 1))
    services.merge_storylines(analysis=analysis, user=user, storyline_id=b.pk, into_id=a.pk)
    services.move_scene(analysis=analysis, user=user, scene=scene(analysis, 1), storyline_id=c.pk)
    services.regroup(analysis=analysis, user=user, num_storylines=None)
    analysis.refresh_from_db()
    assert groups(analysis) == {frozenset({0, 2, 4, 5}), frozenset({1, 3})}
    assert storyline_of(analysis, 0).pk == a.pk and storyline_of(analysis, 1).pk == c.pk
    sources = dict(
        StorylineScene.objects.filter(scene__analysis=analysis).values_list(
            "scene__index", "source"
        )
    )
    assert sources == {0: "editor", 1: "editor", 2: "editor", 3: "auto", 4: "editor", 5: "editor"}
    meta = analysis.metadata["storylines"]
    assert meta["constraints"]["groups"] == 2
    learned = meta["learned_multipliers"]  # the editor joined A and B: same voice, new picture
    assert learned["voice"] > 1.5 and learned["voice"] > learned["colour"]


def test_move_rename_and_exclusion_survive_regroup_and_full_rerun(
    analysis: Analysis, user: Any, story_clip: StoryClip, tmp_path: Any
) -> None:
    target = storyline_of(analysis, 0)
    services.move_scene(
        analysis=analysis, user=user, scene=scene(analysis, 1), storyline_id=target.pk
    )
    services.update_storyline(
        analysis=analysis,
        user=user,
        storyline_id=target.pk,
        changes={"name": "River", "color": "#123456"},
    )
    services.exclude_scene(analysis=analysis, user=user, scene=scene(analysis, 3))
    for _ in range(2):  # regrouping twice changes nothing the editor decided
        services.regroup(analysis=analysis, user=user, num_storylines=3)
        assert storyline_of(analysis, 1).pk == target.pk
        assert Storyline.objects.get(pk=target.pk).name == "River"
        assert Storyline.objects.get(pk=target.pk).color == "#123456"
        assert primary(analysis)[3] is None
        assert SceneExclusion.objects.filter(scene__analysis=analysis, scene__index=3).exists()
    # A full re-run of the video (a new analysis) inherits the corrections.
    rerun = new_analysis(user, story_clip, tmp_path, num_storylines=3)
    river = storyline_of(rerun, 1)
    assert river.name == "River" and river.color == "#123456"
    assert primary(rerun)[3] is None
    assert rerun.metadata["storylines"]["constraints"]["carried_from"] == str(analysis.pk)


def test_undo_and_redo_restore_the_storylines(analysis: Analysis, user: Any) -> None:
    before = primary(analysis)
    other = storyline_of(analysis, 1)
    services.move_scene(
        analysis=analysis, user=user, scene=scene(analysis, 0), storyline_id=other.pk
    )
    moved = primary(analysis)
    assert moved[0] == other.pk
    services.undo(analysis=analysis, user=user)
    assert primary(analysis) == before
    assert StorylineScene.objects.get(scene=scene(analysis, 0)).source == "auto"
    services.redo(analysis=analysis, user=user)
    assert primary(analysis) == moved
    # Merge, undo: the merged-away storyline comes back with its id.
    ab = storyline_of(analysis, 2)
    services.merge_storylines(analysis=analysis, user=user, storyline_id=ab.pk, into_id=other.pk)
    assert not Storyline.objects.filter(pk=ab.pk).exists()
    services.undo(analysis=analysis, user=user)
    assert Storyline.objects.filter(pk=ab.pk).exists() and primary(analysis) == moved
    # A new edit forgets what was undone.
    services.update_storyline(
        analysis=analysis, user=user, storyline_id=ab.pk, changes={"name": "Renamed"}
    )
    with pytest.raises(services.StoryEditError, match="Nothing to redo"):
        services.redo(analysis=analysis, user=user)
    history = list(StorylineEdit.objects.filter(analysis=analysis).order_by("created_at", "id"))
    assert [e.action for e in history] == ["move", "rename"]
    assert all(e.user_id == user.pk and e.created_at for e in history)


def test_corrections_are_refused_while_the_analysis_runs(analysis: Analysis, user: Any) -> None:
    Analysis.objects.filter(pk=analysis.pk).update(status=AnalysisStatus.RUNNING)
    analysis.refresh_from_db()
    with pytest.raises(services.StoryBusy):
        services.exclude_scene(analysis=analysis, user=user, scene=scene(analysis, 0))


def test_a_correction_is_published_to_the_analysis_group(
    analysis: Analysis, user: Any, django_capture_on_commit_callbacks: Any
) -> None:
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(group_name(analysis.pk), channel)
    with django_capture_on_commit_callbacks(execute=True):
        services.exclude_scene(analysis=analysis, user=user, scene=scene(analysis, 4))
    event = async_to_sync(layer.receive)(channel)
    assert event["type"] == "storyline.changed" and event["analysis_id"] == str(analysis.pk)
    assert event["edit"]["action"] == "exclude" and event["edit"]["user"] == user.username


def test_the_announcement_names_the_tab_that_asked(
    analysis: Analysis, alice: Any, django_capture_on_commit_callbacks: Any, monkeypatch: Any
) -> None:
    sent: list[dict[str, Any]] = []

    async def record(group: str, event: dict[str, Any]) -> None:
        sent.append(event)

    monkeypatch.setattr(get_channel_layer(), "group_send", record)
    base = f"/api/analyses/{analysis.pk}"
    move = {"storyline_id": storyline_of(analysis, 1).pk}
    for tab in ("3f9a-tab", "", "<not an id>"):
        with django_capture_on_commit_callbacks(execute=True):
            alice.post(
                f"{base}/story/scenes/scene_1/move",
                move,
                content_type="application/json",
                headers={"X-Tab-Id": tab},
            )
            alice.post(f"{base}/timeline/undo", headers={"X-Tab-Id": "undo-tab"})
    assert [(e["step"], e["tab"]) for e in sent] == [
        ("edit", "3f9a-tab"),
        ("undo", "undo-tab"),
        ("edit", ""),
        ("undo", "undo-tab"),
        ("edit", ""),  # not a plain id: not echoed
        ("undo", "undo-tab"),
    ]


# --- API ---------------------------------------------------------------------------------------


def test_api_reads_graph_relevance_and_interest(analysis: Analysis, alice: Any) -> None:
    base = f"/api/analyses/{analysis.pk}"
    graph = alice.get(f"{base}/graph").json()
    assert len(graph["nodes"]) == 6 and graph["edges"] and graph["preset"] == "film"
    assert all(edge["why"] for edge in graph["edges"] if edge["weight"] > 0.3)
    near = alice.get(f"{base}/scenes/scene_1/neighbours?limit=2").json()
    assert near[0]["scene_id"] == "scene_5" and near[0]["why"]
    matrix = alice.get(f"{base}/relevance").json()
    assert len(matrix["scenes"]) == 6
    assert all(abs(sum(s["relevance"].values()) - 1) < 1e-3 for s in matrix["scenes"])
    ranked = alice.get(f"{base}/interest?order=interest").json()
    scores = [r["interest"] for r in ranked]
    assert scores == sorted(scores, reverse=True) and len(scores) == 6
    cut = sorted(scores)[3]
    kept = alice.get(f"{base}/interest?min_interest={cut}").json()
    assert [r["index"] for r in kept] == sorted(r["index"] for r in ranked if r["interest"] >= cut)
    result = alice.get(f"/api/analysis/{analysis.pk}").json()["result"]
    first = result["storylines"][0]["scenes"][0]
    assert 0 <= first["interest"] <= 1 and first["storyline_relevance"]


def test_every_scene_has_a_confidence_and_reasons_and_doubtful_ones_are_listed(
    analysis: Analysis, alice: Any, user: Any
) -> None:
    base = f"/api/analyses/{analysis.pk}"
    everything = alice.get(f"{base}/story/review?everything=true").json()
    assert len(everything) == 6
    confidences = [row["confidence"] for row in everything]
    assert confidences == sorted(confidences) and all(0 <= c <= 1 for c in confidences)
    assert all(row["reasons"] and row["storyline"] for row in everything)
    flagged = alice.get(f"{base}/story/review").json()
    assert [r["scene_id"] for r in flagged] == [
        r["scene_id"] for r in everything if r["needs_review"]
    ]
    result = alice.get(f"/api/analysis/{analysis.pk}").json()["result"]
    scene_json = result["storylines"][0]["scenes"][0]
    assert 0 <= scene_json["storyline_confidence"] <= 1 and scene_json["storyline_reasons"]
    # An editor's placement is certain and leaves the review list.
    doubtful = everything[0]
    target = storyline_of(analysis, 0).pk
    services.move_scene(
        analysis=analysis,
        user=user,
        scene=scene(analysis, doubtful["index"]),
        storyline_id=target,
    )
    after = {r["scene_id"]: r for r in alice.get(f"{base}/story/review?everything=true").json()}
    assert after[doubtful["scene_id"]]["confidence"] == 1.0
    assert after[doubtful["scene_id"]]["reasons"][0]["signal"] == "editor"
    services.undo(analysis=analysis, user=user)
    undone = {r["scene_id"]: r for r in alice.get(f"{base}/story/review?everything=true").json()}
    assert undone[doubtful["scene_id"]]["confidence"] == doubtful["confidence"]


def test_api_corrections_and_undo(analysis: Analysis, alice: Any) -> None:
    base = f"/api/analyses/{analysis.pk}/story"
    other = storyline_of(analysis, 1).pk
    state = alice.post(
        f"{base}/scenes/scene_1/move", {"storyline_id": other}, content_type="application/json"
    ).json()
    assert state["can_undo"] and "scene_1" in next(
        s["scene_ids"] for s in state["storylines"] if s["id"] == other
    )
    made = alice.post(
        f"{base}/storylines",
        {"name": "Extra", "scene_ids": ["scene_6"]},
        content_type="application/json",
    )
    assert made.status_code == 200
    extra = next(s for s in made.json()["storylines"] if s["name"] == "Extra")
    assert extra["scene_ids"] == ["scene_6"] and extra["lock"]["created"]
    bad = alice.patch(
        f"{base}/storylines/{extra['id']}", {"color": "red"}, content_type="application/json"
    )
    assert bad.status_code == 422
    gone = alice.post(
        f"{base}/storylines/999999/merge", {"into_id": other}, content_type="application/json"
    )
    assert gone.status_code == 400 and "No storyline" in gone.json()["detail"]
    assert alice.post(f"{base}/undo").json()["can_redo"]
    history = alice.get(f"{base}/history").json()
    assert [h["action"] for h in history] == ["move", "create"] and history[1]["undone"]
    regrouped = alice.post(
        f"{base}/regroup",
        {"num_storylines": None, "preset": "sports"},
        content_type="application/json",
    )
    assert regrouped.status_code == 200 and regrouped.json()["preset"] == "sports"
    assert (
        alice.post(
            f"{base}/regroup", {"preset": "opera"}, content_type="application/json"
        ).status_code
        == 422
    )


def test_another_users_analysis_is_a_404(analysis: Analysis, bob: Any) -> None:
    base = f"/api/analyses/{analysis.pk}"
    for path in (
        "graph",
        "relevance",
        "interest",
        "story",
        "story/history",
        "scenes/scene_1/neighbours",
    ):
        assert bob.get(f"{base}/{path}").status_code == 404, path
    for path in ("story/undo", "story/scenes/scene_1/move", "story/regroup"):
        response = bob.post(
            f"{base}/{path}", {"storyline_id": None}, content_type="application/json"
        )
        assert response.status_code == 404, path
    assert primary(analysis)[0] is not None  # nothing changed


def test_preferences_opt_in_carries_learned_weights(analysis: Analysis, alice: Any) -> None:
    assert alice.get("/api/story/preferences").json()["learn_from_edits"] is False
    alice.put("/api/story/preferences", {"learn_from_edits": True}, content_type="application/json")
    base = f"/api/analyses/{analysis.pk}/story"
    a, b, c = (storyline_of(analysis, i).pk for i in (0, 2, 1))
    alice.post(f"{base}/storylines/{b}/merge", {"into_id": a}, content_type="application/json")
    alice.post(f"{base}/scenes/scene_2/move", {"storyline_id": c}, content_type="application/json")
    alice.post(f"{base}/regroup", {}, content_type="application/json")
    learned = alice.get("/api/story/preferences").json()["weight_multipliers"]
    assert learned and all(0.25 <= v <= 4 for v in learned.values())


def test_unknown_preset_is_refused_when_starting(user: Any, alice: Any, story_clip: Any) -> None:
    video = analysis_services.video_create_from_path(owner=user, path=story_clip.path)
    response = alice.post(
        f"/api/videos/{video.pk}/analyses", {"preset": "opera"}, content_type="application/json"
    )
    assert response.status_code == 422 and "preset" in response.json()["detail"]


# --- Clustering with constraints (pure) ----------------------------------------------------------


def test_constraints_override_the_affinity() -> None:
    w = np.full((6, 6), 0.05)
    w[:3, :3] = w[3:, 3:] = 0.9
    np.fill_diagonal(w, 0)
    plain = cluster(w, 2, Constraints())
    assert plain.labels[:3] == [plain.labels[0]] * 3 and plain.labels[3:] == [plain.labels[3]] * 3
    assert plain.labels[0] != plain.labels[3]
    forced = cluster(w, 2, Constraints(groups=[[0, 3], [1]], excluded={5}))
    assert forced.labels[0] == forced.labels[3] != forced.labels[1] and forced.labels[5] == -1
    assert forced.relevance[0].tolist() == [1.0, 0.0] or forced.relevance[0].tolist() == [0.0, 1.0]


# --- Language model against a local OpenAI-compatible server -------------------------------------


class FakeChat(BaseHTTPRequestHandler):
    """Speaks POST /v1/chat/completions like an OpenAI-compatible server."""

    seen: list[dict[str, Any]] = []
    fail = False

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeChat.seen.append(
            {"path": self.path, "auth": self.headers.get("Authorization"), "body": body}
        )
        if FakeChat.fail:
            self.send_response(500)
            self.end_headers()
            return
        system = body["messages"][0]["content"]
        if "cause and effect" in system:
            answer = {
                "links": [
                    {
                        "cause": 1,
                        "effect": 3,
                        "cause_quote": "takes the flash drive",
                        "effect_quote": "Where is my flash drive",
                        "explanation": "the drive is missed",
                    },
                    {
                        "cause": 2,
                        "effect": 4,
                        "cause_quote": "a sentence nobody said",
                        "effect_quote": "Sunny skies",
                        "explanation": "invented",
                    },
                ]
            }
        else:
            answer = {
                "storylines": [
                    {
                        "id": 0,
                        "name": "The missing drive",
                        "summary": "Anna takes a drive that Boris then misses.",
                    },
                    {"id": 1, "name": "Weather", "summary": "Forecasts."},
                ]
            }
        text = "Here you are:\n" + json.dumps(answer)
        payload = json.dumps({"choices": [{"message": {"role": "assistant", "content": text}}]})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(payload.encode())

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def chat_server(settings: Any) -> Any:
    FakeChat.seen, FakeChat.fail = [], False
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeChat)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.LLM_BASE_URL = f"http://127.0.0.1:{server.server_address[1]}/v1"
    settings.LLM_MODEL, settings.LLM_API_KEY = "tiny-local", "secret-key"
    yield FakeChat
    server.shutdown()


def _story_nodes() -> list[SceneNode]:
    texts = [
        "Anna takes the flash drive from the desk.",
        "Sunny skies all week long.",
        "Where is my flash drive? Boris asks the room.",
        "Sunny skies again tomorrow.",
    ]
    looks = [[10.0] * 6, [200.0] * 6, [12.0] * 6, [198.0] * 6]
    return [
        SceneNode(
            pk=i + 1,
            index=i,
            start_time=2.0 * i,
            end_time=2.0 * i + 2,
            features={"text": t, "words": t.lower().split(), "colour": c},
        )
        for i, (t, c) in enumerate(zip(texts, looks, strict=True))
    ]


def test_language_model_names_storylines_and_proposes_quoted_links(chat_server: Any) -> None:
    result = plan_grouping(GroupingInput(_story_nodes(), ExternalSignals(), wanted=2))
    names = {s.name for s in result.storylines}
    assert names == {"The missing drive", "Weather"}
    drive = next(s for s in result.storylines if s.name == "The missing drive")
    assert drive.positions == [0, 2] and drive.description.startswith("Anna takes a drive")
    causal = [e for e in result.edges if e["kind"] == "causal"]
    assert len(causal) == 1  # the link whose quote is nowhere in the transcript is dropped
    assert (causal[0]["source"], causal[0]["target"]) == (0, 2)
    assert causal[0]["components"]["causal"]["cause_quote"] == "takes the flash drive"
    assert result.metadata["llm"] == {"enabled": True, "causal_links": 1}
    assert {c["path"] for c in chat_server.seen} == {"/v1/chat/completions"}
    assert all(c["auth"] == "Bearer secret-key" for c in chat_server.seen)
    assert all(c["body"]["model"] == "tiny-local" for c in chat_server.seen)


def test_a_failing_language_model_changes_nothing(chat_server: Any) -> None:
    chat_server.fail = True
    result = plan_grouping(GroupingInput(_story_nodes(), ExternalSignals(), wanted=2))
    assert len(chat_server.seen) == 2  # it was asked, and failed both times
    assert result.metadata["llm"]["causal_links"] == 0
    assert not [e for e in result.edges if e["kind"] == "causal"]
    assert all(not s.name.startswith("The missing") for s in result.storylines)


def test_without_configuration_no_request_is_made(settings: Any) -> None:
    settings.LLM_BASE_URL = ""
    result = plan_grouping(GroupingInput(_story_nodes(), ExternalSignals(), wanted=2))
    assert result.metadata["llm"]["enabled"] is False
    assert sorted(s.positions for s in result.storylines) == [[0, 2], [1, 3]]


def test_the_analysis_page_draws_the_graph(analysis: Analysis, alice: Any) -> None:
    from django.urls import reverse

    page = alice.get(reverse("frontend:analysis", args=[analysis.pk])).content.decode()
    assert 'id="story-graph"' in page and f"/api/analyses/{analysis.pk}/graph" in page
    assert "js/graph.js" in page
