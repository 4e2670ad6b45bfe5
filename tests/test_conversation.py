"""Follow-up questions: pronouns resolved to what the previous answer named (pure, invented conversations)."""

import pytest

from rag.conversation import ORGANISATION, PERSON, THING, entities, previous_question, resolve, retrieval_query


def turns(question: str, answer: str) -> list[dict]:
    return [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]


FERRY = turns(
    "Who is looking into the ferry collision?",
    "The collision is being examined by inspector Dr. Lucia Ferrand of the Maritime Safety Board [1]. "
    "The ferry's owner, Kessel Lines, has suspended the route [2].",
)


@pytest.mark.parametrize(
    "question, query",
    [
        ("And what did she say?", "And what did Lucia Ferrand say?"),
        ("What did he conclude?", "What did Lucia Ferrand conclude?"),  # gender is never guessed: a person is a person
        ("What is her background?", "What is Lucia Ferrand's background?"),
        ("Who appointed her?", "Who appointed Lucia Ferrand?"),
        ("Did his report blame the captain?", "Did Lucia Ferrand's report blame the captain?"),
    ],
)
def test_person_pronouns_become_the_person_the_answer_named(question, query):
    assert retrieval_query(question, FERRY) == query


def test_the_replaced_query_leaves_out_the_previous_question():
    # The previous question's words ("looking into the ferry collision") are what an author bio
    # shares ("Nina Holt has been looking into ferry safety for the Gazette"): not searched again.
    query = retrieval_query("What did she say?", FERRY)
    assert "looking" not in query and "collision" not in query


def test_a_titled_person_or_one_with_a_role_outranks_a_capitalised_pair_met_first():
    history = turns("Where did it happen?", "Near Orchard Point, said harbour master Ivo Stanek [1].")
    assert retrieval_query("What else did she say?", history) == "What else did Ivo Stanek say?"


def test_the_subject_of_the_answer_comes_first_among_people_marked_as_such():
    history = turns(
        "Who spoke after the vote?",
        "Councillor Ada Brenner, who opposed it, said the fund was empty. Mayor Piet Olsen disagreed [1].",
    )
    assert retrieval_query("Why did she oppose it?", history) == "Why did Ada Brenner oppose it?"


def test_among_several_people_the_one_in_the_sentence_that_answered_the_question_is_meant():
    first = turns(
        "Who voted against the levy?",
        "Mayor Piet Olsen defended the plan [1]. Councillor Ada Brenner, who voted against it, said no [1].",
    )
    assert retrieval_query("Who replied to her?", first) == "Who replied to Ada Brenner?"
    # Earlier questions count too: the last one may hold nothing but the pronoun.
    second = first + turns(
        "What did she say?",
        "Mayor Piet Olsen replied that reserves would cover it [1]. "
        "Councillor Ada Brenner, who voted against the levy, said the fund was empty [2].",
    )
    assert retrieval_query("Who answered her?", second) == "Who answered Ada Brenner?"


def test_it_and_they_take_a_thing_or_organisation_that_opens_a_sentence():
    history = turns("What did the county build?", "The Ostrava Viaduct opened in June after four years of work [1].")
    assert retrieval_query("How long is it?", history) == "How long is Ostrava Viaduct?"
    agency = turns("Who runs the survey?", "The Northern Bird Trust said the count fell by a third [1].")
    assert retrieval_query("When did they start counting?", agency) == "When did Northern Bird Trust start counting?"
    assert retrieval_query("What is its budget?", agency) == "What is Northern Bird Trust's budget?"


def test_it_does_not_become_a_person_or_a_place_mentioned_in_passing():
    history = turns(
        "Why did wheat prices rise?",
        "Wheat futures climbed after frost hit fields in Ukraine and Kansas, said analyst Mara Quist [1].",
    )
    # Nothing named opens the answer: the previous question gives the context instead.
    assert retrieval_query("How far did it climb?", history) == "Why did wheat prices rise? How far did it climb?"


@pytest.mark.parametrize("question", ["How long will it take?", "What does it mean for residents?"])
def test_it_standing_for_nothing_is_left_alone(question):
    history = turns("What did the county build?", "The Ostrava Viaduct opened in June [1].")
    assert retrieval_query(question, history) == f"What did the county build? {question}"


def test_a_question_naming_its_own_referent_is_searched_as_it_is():
    assert retrieval_query("Did Tomas Reyes say he would resign?", FERRY) == "Did Tomas Reyes say he would resign?"
    # An object pronoun never stands for its clause's subject: "her" is still the inspector.
    assert (
        retrieval_query("What did Tomas Reyes say about her?", FERRY) == "What did Tomas Reyes say about Lucia Ferrand?"
    )


def test_a_person_pronoun_falls_back_on_the_person_the_previous_question_named():
    history = turns("Who is Oskar Lind?", "He chairs the ferry operators' association [1].")
    assert retrieval_query("What did he propose?", history) == "What did Oskar Lind propose?"


def test_without_a_fitting_entity_the_previous_question_is_prepended_as_before():
    history = turns("Which route was suspended?", "the night crossing to the islands [1]")
    assert retrieval_query("When will it resume?", history) == "Which route was suspended? When will it resume?"
    assert retrieval_query("And the morning one?", history) == "Which route was suspended? And the morning one?"
    assert retrieval_query("Why did that happen?", FERRY) == f"{FERRY[0]['content']} Why did that happen?"
    assert retrieval_query("How deep is Lake Baikal?", FERRY) == "How deep is Lake Baikal?"
    assert retrieval_query("What did she say?", None) == "What did she say?"
    assert resolve("What did she say?", [{"role": "user", "content": "Who runs it?"}]) is None


def test_dossiers_own_abstention_and_quoted_titles_name_no_entity():
    abstained = turns(
        "Who won the regatta?",
        "The articles in the library don't cover this question. The closest passage "
        "is from “Harbour Fees Rise Again”, but it does not answer this.",
    )
    assert entities(abstained[1]["content"]) == []
    assert retrieval_query("Who sponsored it?", abstained) == "Who won the regatta? Who sponsored it?"


def test_entities_and_their_kinds():
    found = {
        e.name: e.kind
        for e in entities(
            "The Port Authority of Valmer said on Monday that captain Jonas Eide, 54, had been relieved [1]. "
            "“We will cooperate fully,” said Ines Barros, the company's lawyer. The IMO was informed."
        )
    }
    assert found == {
        "Port Authority of Valmer": ORGANISATION,
        "Jonas Eide": PERSON,
        "Ines Barros": PERSON,
        "IMO": ORGANISATION,
    }
    assert {e.name: e.kind for e in entities("Ships reached Port Sulen and Orla Bay by noon.")} == {
        "Port Sulen": THING,
        "Orla Bay": THING,
    }


def test_a_surname_alone_is_the_person_already_named_and_markers_are_ignored():
    named = entities("Dr. Hanne Vik led the count [1][2]. Vik said numbers fell [3].")
    assert [(e.name, e.kind) for e in named] == [("Hanne Vik", PERSON)]


def test_previous_question_is_the_last_user_turn():
    history = turns("First?", "One.") + turns("Second?", "Two.")
    assert previous_question(history) == "Second?"
    assert previous_question([]) is None and previous_question(None) is None
