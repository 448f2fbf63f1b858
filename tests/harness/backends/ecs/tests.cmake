# cleanroom_ecs_backend_tests run the ecs backend against an in-test fake
# ECS (FakeEcs) and, when it is part of the build, against cleanroom-mock-aws
# as a real process (path passed as CLEANROOM_MOCK_AWS_EXE).
if(TARGET cleanroom-mock-aws)
  target_compile_definitions(cleanroom_ecs_backend_tests PRIVATE
    CLEANROOM_MOCK_AWS_EXE="$<TARGET_FILE:cleanroom-mock-aws>")
  add_dependencies(cleanroom_ecs_backend_tests cleanroom-mock-aws)
endif()
