# extend-event-rules: the targets the Extend templates' users type.
# `make help` lists them.

IMAGE ?= extend-event-rules
IMAGE_TAG ?= latest
NAMESPACE ?=
APP ?=

.PHONY: help build image run imagerun up test check-rules validate lint lint-dockerfile docs upload

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

build: ## install dependencies (npm ci) and compile to dist/
	npm ci
	npm run build

image: ## docker build the image (IMAGE, IMAGE_TAG; fails on an invalid rules.yaml)
	docker build -t $(IMAGE):$(IMAGE_TAG) .

run: ## run the event handler locally (npm start; reads .env)
	npm start

imagerun: image ## run the image with .env (gRPC :6565, metrics :8080)
	docker run --rm --env-file .env -p 6565:6565 -p 8080:8080 $(IMAGE):$(IMAGE_TAG)

up: ## docker compose up --build
	docker compose up --build

test: ## the product's tests (npm test), then your rules: validate, rule tests, schema up to date
	npm test
	$(MAKE) --no-print-directory check-rules

check-rules: ## your rules.yaml: validate, rules.test.yaml, rules.schema.json up to date (seconds: builds only when src/ changed)
	node scripts/build-if-stale.mjs
	node dist/cli/index.js validate
	node dist/cli/index.js test
	node dist/cli/index.js schema --check

validate: ## check rules.yaml (extend-event-rules validate)
	node scripts/build-if-stale.mjs
	node dist/cli/index.js validate

lint: lint-dockerfile ## eslint and the Dockerfile lint
	npm run lint

lint-dockerfile: ## check the Dockerfiles (dockerfile-utils; no BuildKit-only syntax)
	node scripts/lint-dockerfile.mjs Dockerfile .devcontainer/Dockerfile

docs: ## regenerate the generated parts of docs/ and rules.test.schema.json (npm run docs)
	npm run docs

upload: ## build and push to Extend: make upload NAMESPACE=<ns> APP=<app> IMAGE_TAG=v0.0.1
	@test -n "$(NAMESPACE)" -a -n "$(APP)" || { echo "usage: make upload NAMESPACE=<namespace> APP=<app> IMAGE_TAG=<tag>"; exit 2; }
	extend-helper-cli image-upload --login --namespace $(NAMESPACE) --app $(APP) --image-tag $(IMAGE_TAG)
