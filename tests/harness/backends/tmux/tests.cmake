# cleanroom_tmux_backend_tests run against real tmux and, when it is part of
# the build, against cleanroom-mock-tmux (path passed as CLEANROOM_MOCK_TMUX_PATH).
if(TARGET cleanroom-mock-tmux)
  target_compile_definitions(cleanroom_tmux_backend_tests PRIVATE
    CLEANROOM_MOCK_TMUX_PATH="$<TARGET_FILE:cleanroom-mock-tmux>")
  add_dependencies(cleanroom_tmux_backend_tests cleanroom-mock-tmux)
endif()
