"""The buyer mix of the load benchmark (benchmarks/load.py starts it; see its docstring).

Reads the data plan that load.py wrote (LOAD_PLAN: JSON with product ids, search queries,
category keys and the load buyers' API tokens). A locust user is a guest or, for half of
them, a signed-in buyer with its own token and cart; their task weights make the mix:

  pages   home 10, category 8, search page 12 (CAS, English, Chinese, pinyin), product page 15
  API     product search 8, product detail 8, categories 3
  writes  guest inquiry 2, buyer inquiry 2, add to cart + checkout 3 (buyers only)

The users are FastHttpUsers (geventhttpclient): locust runs on the cores it measures, and
this client costs a fraction of the CPU of the requests-based HttpUser.
"""

import json
import os
import random
import uuid
from pathlib import Path
from urllib.parse import urlencode

from locust import FastHttpUser, between, task

PLAN = json.loads(Path(os.environ["LOAD_PLAN"]).read_text(encoding="utf-8"))
_tokens = list(PLAN["buyers"])  # each buyer user takes one: carts are per user


class Guest(FastHttpUser):
    wait_time = between(0.2, 1.0)
    weight = 1

    @task(10)
    def home(self):
        self.client.get("/", name="page: home")

    @task(8)
    def category(self):
        key = random.choice(PLAN["categories"])
        self.client.get(f"/categories/{key}/", name="page: category")

    @task(12)
    def search_page(self):
        self.client.get(f"/products/?{urlencode({'q': random.choice(PLAN['queries'])})}",
                        name="page: search")

    @task(15)
    def product_page(self):
        pk = random.choice(PLAN["products"])
        self.client.get(f"/products/{pk}/", name="page: product")

    @task(8)
    def api_search(self):
        self.client.get(f"/api/v1/products/?{urlencode({'q': random.choice(PLAN['queries'])})}",
                        name="api: products?q=", headers=self.headers())

    @task(8)
    def api_product(self):
        pk = random.choice(PLAN["products"])
        self.client.get(f"/api/v1/products/{pk}/", name="api: product",
                        headers=self.headers())

    @task(3)
    def api_categories(self):
        self.client.get("/api/v1/categories/", name="api: categories")

    @task(2)
    def inquiry(self):
        body = {"product_id": random.choice(PLAN["products"]), "quantity": "25",
                "message": "Load test: please quote."}
        if not self.headers():
            body.update(contact_name="Load Guest", contact_company="Load Co.",
                        contact_email=f"guest-{uuid.uuid4().hex[:8]}@load.example")
        name = "api: inquiry (buyer)" if self.headers() else "api: inquiry (guest)"
        with self.client.post("/api/v1/inquiries/", json=body, name=name,
                              headers=self.headers(), catch_response=True) as response:
            if response.status_code != 201:
                response.failure(f"{response.status_code}: {response.text[:200]}")

    def headers(self) -> dict:
        return {}


class Buyer(Guest):
    weight = 1

    def on_start(self):
        self.token = _tokens.pop()

    def headers(self) -> dict:
        return {"Authorization": f"Token {self.token}"}

    @task(3)
    def order(self):
        product = random.choice(PLAN["orderable"])
        with self.client.put(f"/api/v1/cart/lines/{product}/", json={"quantity": "2"},
                             name="api: cart line", headers=self.headers(),
                             catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code}: {response.text[:200]}")
                return
        body = {"fulfilment": "delivery", "payment_method": "prepayment",
                "address_id": PLAN["address"]}
        headers = {**self.headers(), "Idempotency-Key": uuid.uuid4().hex}
        with self.client.post("/api/v1/orders/", json=body, name="api: checkout",
                              headers=headers, catch_response=True) as response:
            if response.status_code != 201:
                response.failure(f"{response.status_code}: {response.text[:200]}")
