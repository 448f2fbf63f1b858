# cleanroom_daytona_backend_tests run the daytona backend against
# cleanroom-mock-daytona, in-process (cleanroom::mock_daytona) and as a
# real process (path passed as CLEANROOM_MOCK_DAYTONA_EXE).
target_link_libraries(cleanroom_daytona_backend_tests PRIVATE cleanroom::mock_daytona)
target_compile_definitions(cleanroom_daytona_backend_tests PRIVATE
  CLEANROOM_MOCK_DAYTONA_EXE="$<TARGET_FILE:cleanroom-mock-daytona>")
add_dependencies(cleanroom_daytona_backend_tests cleanroom-mock-daytona)
