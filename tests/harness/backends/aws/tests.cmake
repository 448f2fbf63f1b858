# cleanroom_aws_backend_tests check the SigV4 signer and verifier against the
# AWS Signature Version 4 test suite, a copy of which (Apache-2.0, with its
# LICENSE and NOTICE) lives in tests/data/aws-sig-v4-test-suite.
target_compile_definitions(cleanroom_aws_backend_tests PRIVATE
  CLEANROOM_SIGV4_SUITE_DIR="${PROJECT_SOURCE_DIR}/tests/data/aws-sig-v4-test-suite")
# The ECS session pipeline's integration tests (ecs_session_mock_test.cpp)
# run against cleanroom-mock-aws in-process.
target_link_libraries(cleanroom_aws_backend_tests PRIVATE cleanroom::mock_aws PkgConfig::HTTPLIB)
