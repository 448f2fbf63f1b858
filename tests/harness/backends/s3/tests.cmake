# cleanroom_s3_backend_tests run the s3 backend against cleanroom-mock-aws
# in-process (S3 REST over real HTTP, SigV4 verified, faults injected through
# the control API).
target_link_libraries(cleanroom_s3_backend_tests PRIVATE cleanroom::mock_aws)
