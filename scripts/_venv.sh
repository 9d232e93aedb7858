# Shared by scripts/serve, scripts/train and scripts/test (sourced, not run): the checkout's one virtualenv.
#
# ensure_venv             create .venv with Python 3.11 when absent (or broken)
# install_requirements    pip-install requirement files into it, skipped when a stamp
#                         (hash of the files and of the Python version) says nothing changed

VENV="$ROOT/.venv"
VENV_PYTHON="$VENV/bin/python"

_find_python() {
    local candidate
    for candidate in "${PYTHON:-}" python3.11 python3; do
        [[ -n "$candidate" ]] || continue
        if command -v "$candidate" >/dev/null 2>&1 \
            && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    echo "error: Python 3.11 not found (tried \$PYTHON, python3.11, python3); set PYTHON=/path/to/python3.11" >&2
    return 1
}

ensure_venv() {
    if [[ -x "$VENV_PYTHON" ]] \
        && "$VENV_PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
        return 0
    fi
    local python
    python="$(_find_python)"
    if [[ -e "$VENV" ]]; then
        echo "==> .venv is not a working Python 3.11 virtualenv: recreating it with $python"
        "$python" -m venv --clear "$VENV"
    else
        echo "==> creating .venv with $python"
        "$python" -m venv "$VENV"
    fi
}

# install_requirements NAME [FILE...] [--no-deps FILE...]
# Files before --no-deps are resolved together; files after it are installed without
# their dependencies (the docs assets package declares Django, which it does not need).
install_requirements() {
    local name="$1"
    shift
    local with_deps=() no_deps=() target="with" arg file
    for arg in "$@"; do
        if [[ "$arg" == "--no-deps" ]]; then
            target="no"
        elif [[ "$target" == "with" ]]; then
            with_deps+=("$arg")
        else
            no_deps+=("$arg")
        fi
    done

    local stamp="$VENV/.requirements-$name.sha256"
    local digest
    digest="$(
        cd "$ROOT"
        for arg in "$@"; do
            if [[ "$arg" == "--no-deps" ]]; then echo "$arg"; else sha256sum "$arg"; fi
        done
        "$VENV_PYTHON" -VV
    )"
    digest="$(sha256sum <<<"$digest" | cut -d' ' -f1)"
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$digest" ]]; then
        return 0
    fi

    local log="$VENV/pip-$name.log"
    local pip=("$VENV_PYTHON" -m pip install --quiet --progress-bar off --disable-pip-version-check)
    local args=()
    for file in "${with_deps[@]}"; do args+=(-r "$ROOT/$file"); done
    echo "==> installing ${with_deps[*]} ${no_deps[*]:+(and ${no_deps[*]} without dependencies)} into .venv"
    : >"$log"
    if ! "${pip[@]}" "${args[@]}" >>"$log" 2>&1; then
        cat "$log" >&2
        echo "error: pip failed (log: $log)" >&2
        return 1
    fi
    for file in "${no_deps[@]}"; do
        if ! "${pip[@]}" --no-deps -r "$ROOT/$file" >>"$log" 2>&1; then
            cat "$log" >&2
            echo "error: pip failed (log: $log)" >&2
            return 1
        fi
    done
    echo "$digest" >"$stamp"
}
