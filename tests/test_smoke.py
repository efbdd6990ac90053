async def test_reference_data_is_served(client):
    objectives = (await client.get("/v1/gcm/objectives")).json()["items"]
    assert [o["number"] for o in objectives] == list(range(1, 24))
    principles = (await client.get("/v1/gcm/principles")).json()["items"]
    assert len(principles) == 10
    assert principles[0]["code"] == "people-centred"
